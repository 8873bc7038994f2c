/**
 * The typed client over any Connect transport: every lipsync.v1 RPC, plus helpers that hand
 * frames back as bytes and plain metadata (numbers, not bigints).
 */
import { create } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import {
  AudioEncoding, ImageFormat, LipSyncService, SourceView, SpeakRequestSchema,
  type Frame, type SpeakRequest, type SpeakResponse,
} from "@lipsync/proto";

export type LipSyncRpc = Client<typeof LipSyncService>;

export type ImageFormatName = "jpeg" | "rgb" | "rgba" | "i420";

const FORMAT_NAMES: Record<ImageFormat, ImageFormatName> = {
  [ImageFormat.UNSPECIFIED]: "jpeg", [ImageFormat.JPEG]: "jpeg", [ImageFormat.RGB]: "rgb", [ImageFormat.RGBA]: "rgba", [ImageFormat.I420]: "i420",
};

/** A frame as bytes plus metadata. */
export interface FrameData {
  /** The whole frame, or only the mouth region when `patch`: draw source frame `sourceIndex`, then this at `mouthBox`. */
  image: Uint8Array;
  patch: boolean;
  /** JPEG, or raw pixels (RGB, RGBA, or I420: planar YUV 4:2:0, chroma at half size rounded up). */
  format: ImageFormatName;
  width: number;
  height: number;
  sourceIndex: number;
  /** Samples of the 16 kHz session clock. */
  pts: number;
  kind: "speech" | "idle";
  mouthBox: { x: number; y: number; width: number; height: number } | undefined;
  timings: { prepareMs: number; queueMs: number; inferenceMs: number; compositeMs: number; encodeMs: number; totalMs: number; batchSize: number } | undefined;
}

/** Sends `authorization: Bearer TOKEN` with every call (servers started with --auth-token or --jwt-public-key). */
export function bearerAuth(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}

export function frameData(f: Frame): FrameData {
  return {
    image: f.image,
    patch: f.patch,
    format: FORMAT_NAMES[f.format] ?? "jpeg",
    width: f.width,
    height: f.height,
    sourceIndex: f.sourceIndex,
    pts: Number(f.pts),
    kind: f.kind === 2 ? "idle" : "speech",
    mouthBox: f.mouthBox && { x: f.mouthBox.x, y: f.mouthBox.y, width: f.mouthBox.width, height: f.mouthBox.height },
    timings: f.timings && { ...f.timings, batchSize: f.timings.batchSize },
  };
}

/** Events of a speech stream, as plain objects. */
export type SpeechEvent =
  | { type: "started"; sessionId: string; samplesPerFrame: number; clockRate: number }
  | { type: "frame"; frame: FrameData }
  | { type: "speech-started"; pts: number }
  | { type: "speech-ended"; startPts: number; endPts: number; interrupted: boolean }
  | { type: "playback-finished"; position: number; interrupted: boolean }
  /** The server dropped speech frames [startPts, endPts) that would have arrived too late. */
  | { type: "frames-dropped"; startPts: number; endPts: number };

export function speechEvent(r: SpeakResponse): SpeechEvent | undefined {
  const m = r.message;
  switch (m.case) {
    case "started":
      return { type: "started", sessionId: m.value.sessionId, samplesPerFrame: m.value.samplesPerFrame, clockRate: m.value.clockRate };
    case "frame":
      return { type: "frame", frame: frameData(m.value) };
    case "speechStarted":
      return { type: "speech-started", pts: Number(m.value.pts) };
    case "speechEnded":
      return { type: "speech-ended", startPts: Number(m.value.startPts), endPts: Number(m.value.endPts), interrupted: m.value.interrupted };
    case "playbackFinished":
      return { type: "playback-finished", position: Number(m.value.position), interrupted: m.value.interrupted };
    case "framesDropped":
      return { type: "frames-dropped", startPts: Number(m.value.startPts), endPts: Number(m.value.endPts) };
    default:
      return undefined;
  }
}

/** Raw PCM, as a live stream (`speak`) or a clip (`speakAudio`) carries it. */
export interface PcmSpec {
  encoding: "pcm_s16le" | "pcm_f32le";
  /** Samples per second of the audio you send, 8000..192000 (the server resamples). */
  sampleRate: number;
  /** 1 (default) or 2, interleaved; mixed down to mono. */
  channels?: number;
}

/** A whole WAV file: its header says the format. */
export interface WavSpec {
  encoding: "wav";
}

/** What `speakAudio` takes: a WAV file or raw PCM. `speak` streams PCM only. */
export type AudioSpec = PcmSpec | WavSpec;

function audioFormat(spec: AudioSpec) {
  if (spec.encoding === "wav") return { encoding: AudioEncoding.WAV, sampleRate: 0, channels: 0 };
  const encoding = spec.encoding === "pcm_f32le" ? AudioEncoding.PCM_F32LE : AudioEncoding.PCM_S16LE;
  return { encoding, sampleRate: spec.sampleRate, channels: spec.channels ?? 1 };
}

/** An error of the client itself (not a status from the server, which comes as a ConnectError). */
export class LipSyncClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LipSyncClientError";
  }
}

export interface ClientCapabilities {
  /**
   * Whether the transport carries bidirectional streams (`speak`): gRPC, or Connect over
   * HTTP/2. fetch in browsers and HTTP/1.1 cannot send and receive on one call.
   */
  bidi: boolean;
}

export class LipSyncClient {
  /** The generated client, for anything the helpers do not cover. */
  readonly rpc: LipSyncRpc;
  private readonly capabilities: ClientCapabilities;

  constructor(transport: Transport, capabilities: ClientCapabilities = { bidi: true }) {
    this.rpc = createClient(LipSyncService, transport);
    this.capabilities = capabilities;
  }

  async listAvatars() {
    return (await this.rpc.listAvatars({})).avatars;
  }

  async getAvatar(name: string) {
    return this.rpc.getAvatar({ name });
  }

  async sourceFrame(avatar: string, index: number, view: "full" | "crop" | "masked-crop" = "full") {
    const v = view === "crop" ? SourceView.CROP : view === "masked-crop" ? SourceView.MASKED_CROP : SourceView.FULL;
    return this.rpc.getSourceFrame({ avatar, index, view: v });
  }

  /** One frame lipped to the avatar's own audio track. */
  async renderFrame(avatar: string, index: number, options: { quality?: number } = {}): Promise<FrameData> {
    const r = await this.rpc.renderFrame({ avatar, index, quality: options.quality ?? 0 });
    return frameData(r.frame!);
  }

  async renderFrames(avatar: string, indices: number[]): Promise<FrameData[]> {
    return (await this.rpc.renderFrames({ avatar, indices })).frames.map(frameData);
  }

  /** A whole clip in, its frames out (works from browsers over Connect and gRPC-Web). */
  async *speakAudio(avatar: string, audio: Uint8Array, spec: AudioSpec = { encoding: "wav" }, options: { signal?: AbortSignal; mouthPatch?: boolean } = {}): AsyncGenerator<SpeechEvent> {
    for await (const r of this.rpc.speakAudio({ avatar, audio, audioFormat: audioFormat(spec), mouthPatch: options.mouthPatch ?? false }, { signal: options.signal })) {
      const m = r.message;
      if (m.case === "started") yield { type: "started", sessionId: m.value.sessionId, samplesPerFrame: m.value.samplesPerFrame, clockRate: m.value.clockRate };
      else if (m.case === "frame") yield { type: "frame", frame: frameData(m.value) };
      else if (m.case === "speechEnded") yield { type: "speech-ended", startPts: Number(m.value.startPts), endPts: Number(m.value.endPts), interrupted: m.value.interrupted };
      else if (m.case === "framesDropped") yield { type: "frames-dropped", startPts: Number(m.value.startPts), endPts: Number(m.value.endPts) };
    }
  }

  /**
   * A live session over a bidirectional stream (gRPC or Connect over HTTP/2; browsers use
   * LipSyncSocket). Push with the returned controller; read events from `events`.
   *
   * @throws LipSyncClientError at once on a transport without bidirectional streams (HTTP/1.1,
   * browsers' fetch): over HTTP/1.1 the request body would still be sending while the server
   * answers, and the call would die with EPIPE. Use speakAudio() or LipSyncSocket there.
   */
  speak(options: { avatar: string; audio: PcmSpec; continuous?: boolean; quality?: number; mouthPatch?: boolean; signal?: AbortSignal }) {
    if (!this.capabilities.bidi) {
      throw new LipSyncClientError("speak() needs a bidirectional stream: use gRPC, or Connect/gRPC-Web with httpVersion \"2\" in Node; "
        + "over HTTP/1.1 and in browsers use speakAudio() for a clip or LipSyncSocket for live audio");
    }
    if ((options.audio as AudioSpec).encoding === "wav") {
      throw new LipSyncClientError("speak() streams raw PCM (pcm_s16le or pcm_f32le with its sampleRate); send a WAV file with speakAudio()");
    }
    const queue: SpeakRequest[] = [create(SpeakRequestSchema, {
      message: { case: "config", value: { avatar: options.avatar, audioFormat: audioFormat(options.audio), continuous: options.continuous ?? false, quality: options.quality ?? 0, mouthPatch: options.mouthPatch ?? false } },
    })];
    let wake: (() => void) | undefined;
    let closed = false;
    const put = (req: SpeakRequest) => {
      if (closed) throw new Error("speak stream already closed");
      queue.push(req);
      wake?.();
    };
    async function* requests(): AsyncGenerator<SpeakRequest> {
      for (;;) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (closed) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    }
    // Leaving the events loop early cancels the call, so the server ends the session at once.
    const abort = new AbortController();
    options.signal?.addEventListener("abort", () => abort.abort(options.signal?.reason), { once: true });
    const responses = this.rpc.speak(requests(), { signal: abort.signal });
    async function* events(): AsyncGenerator<SpeechEvent> {
      const it = responses[Symbol.asyncIterator]();
      let finished = false;
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          const e = speechEvent(r.value);
          if (e) yield e;
        }
        finished = true;
      } finally {
        closed = true;
        wake?.();
        // Cancel before returning the response iterator: its return() waits for the stream.
        if (!finished) {
          abort.abort();
          void it.return?.().catch(() => undefined);
        }
      }
    }
    return {
      events: events(),
      pushAudio: (data: Uint8Array) => put(create(SpeakRequestSchema, { message: { case: "audio", value: { data } } })),
      clear: () => put(create(SpeakRequestSchema, { message: { case: "clear", value: {} } })),
      end: () => put(create(SpeakRequestSchema, { message: { case: "end", value: {} } })),
      playbackPosition: (pts: number) => put(create(SpeakRequestSchema, { message: { case: "playbackPosition", value: { pts: BigInt(pts) } } })),
      /** Half-closes the request stream: the server finishes the utterance, then the stream ends. */
      close: () => {
        closed = true;
        wake?.();
      },
    };
  }

  async stats() {
    return this.rpc.getStats({});
  }
}
