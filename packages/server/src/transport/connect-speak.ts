/**
 * The two speech streams of lipsync.v1 over Connect-RPC, adapters of the session protocol
 * (session/protocol.ts): Speak (bidirectional: config, then audio, clear, end and playback
 * positions in; session events out) and SpeakAudio (a whole clip in, its events out). Each message
 * is decoded into a command or encoded from an event, nothing more.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  AudioEncoding, SpeakAudioResponseSchema, SpeakResponseSchema,
  type AudioFormat, type SpeakAudioRequest, type SpeakAudioResponse, type SpeakConfig, type SpeakRequest, type SpeakResponse,
} from "@lipsync/proto";
import type { LipSyncApp } from "../app.js";
import { decodePcm } from "../audio/pcm.js";
import { parseWav } from "../audio/wav.js";
import { encodingOf } from "../engine/frame.js";
import { asLipSyncError, invalidArgument } from "../errors.js";
import { playClip } from "../session/clip-feeder.js";
import type { LiveSession } from "../session/live-session.js";
import type { AudioInput, SessionCommand, SessionEvent, SessionRequest } from "../session/protocol.js";
import { principalOf } from "./access.js";
import { callSignal } from "./request-context.js";
import { requestError } from "./status.js";

type Streaming = <I, O>(method: string, fn: (req: I, ctx: HandlerContext) => AsyncIterable<O>) => (req: I, ctx: HandlerContext) => AsyncIterable<O>;

/** The raw PCM format of Speak chunks (and of a SpeakAudio clip that is not WAV). */
function audioInput(format: AudioFormat | undefined): AudioInput {
  if (!format) throw invalidArgument("audio_format is required");
  const encoding = format.encoding === AudioEncoding.PCM_S16LE ? "s16le" : format.encoding === AudioEncoding.PCM_F32LE ? "f32le" : undefined;
  if (!encoding) {
    throw invalidArgument(format.encoding === AudioEncoding.WAV
      ? "WAV is accepted by SpeakAudio only; stream raw PCM chunks to Speak"
      : "audio_format.encoding must be PCM_S16LE or PCM_F32LE");
  }
  return { sampleRate: format.sampleRate, encoding, channels: format.channels === 0 ? 1 : format.channels };
}

function sessionRequest(c: Pick<SpeakConfig, "avatar" | "imageFormat" | "quality" | "mouthPatch">, audio: AudioInput, continuous: boolean): SessionRequest {
  return { avatar: c.avatar, audio, continuous, encoding: encodingOf(c.imageFormat), patch: c.mouthPatch, ...(c.quality ? { quality: c.quality } : {}) };
}

/** One Speak message as a command. */
function command(m: SpeakRequest["message"]): SessionCommand {
  switch (m.case) {
    case "audio":
      return { type: "audio", data: m.value.data };
    case "clear":
      return { type: "clear" };
    case "end":
      return { type: "end" };
    case "playbackPosition":
      return { type: "position", pts: Number(m.value.pts) };
    case "config":
      throw invalidArgument("config may be sent only once, first");
    default:
      throw invalidArgument("empty or unknown Speak message");
  }
}

/** A session event as a Speak message (none for "cleared"); an error ends the stream with its status. */
function speakResponse(e: Exclude<SessionEvent, { type: "cleared" }>): SpeakResponse {
  switch (e.type) {
    case "started":
      return create(SpeakResponseSchema, { message: { case: "started", value: e.started } });
    case "frame":
      return create(SpeakResponseSchema, { message: { case: "frame", value: e.frame } });
    case "speech-started":
      return create(SpeakResponseSchema, { message: { case: "speechStarted", value: { pts: BigInt(e.pts) } } });
    case "speech-ended":
      return create(SpeakResponseSchema, { message: { case: "speechEnded", value: { startPts: BigInt(e.startPts), endPts: BigInt(e.endPts), interrupted: e.interrupted } } });
    case "playback-finished":
      return create(SpeakResponseSchema, { message: { case: "playbackFinished", value: { position: BigInt(e.position), interrupted: e.interrupted } } });
    case "frames-dropped":
      return create(SpeakResponseSchema, { message: { case: "framesDropped", value: { startPts: BigInt(e.startPts), endPts: BigInt(e.endPts) } } });
    case "error":
      throw e.error;
  }
}

/** The SpeakAudio subset: started, frames, dropped frames, and the end marker. */
function speakAudioResponse(e: SessionEvent): SpeakAudioResponse | undefined {
  if (e.type === "error") throw e.error;
  if (e.type === "started" || e.type === "frame" || e.type === "speech-ended" || e.type === "frames-dropped") {
    const r = speakResponse(e).message;
    return create(SpeakAudioResponseSchema, { message: r as SpeakAudioResponse["message"] });
  }
  return undefined;
}

/** A whole SpeakAudio clip as mono samples and its rate. */
function decodeClip(format: AudioFormat | undefined, audio: Uint8Array): { samples: Float32Array; rate: number } {
  if (format?.encoding === AudioEncoding.WAV) {
    const wav = parseWav(audio);
    return { samples: wav.samples, rate: wav.sampleRate };
  }
  const pcm = audioInput(format);
  return { samples: decodePcm(audio, pcm.encoding, pcm.channels), rate: pcm.sampleRate };
}

/** Any end of the call (a reset of any code, a dropped connection) ends the session; the returned release ends it when the handler does. */
function bindToCall(session: LiveSession, ctx: HandlerContext): () => void {
  const signal = callSignal(ctx);
  const abort = () => session.close();
  signal.addEventListener("abort", abort);
  return () => {
    signal.removeEventListener("abort", abort);
    session.close();
  };
}

export function speakHandlers(app: LipSyncApp, streaming: Streaming) {
  return {
    speak: streaming("Speak", async function* (requests: AsyncIterable<SpeakRequest>, ctx: HandlerContext) {
      const iterator = requests[Symbol.asyncIterator]();
      const first = await iterator.next().catch((err: unknown) => Promise.reject(requestError(err)));
      if (first.done || first.value.message.case !== "config") throw invalidArgument("the first Speak message must be config");
      const config = first.value.message.value;
      const session = await app.sessions.open(principalOf(ctx), sessionRequest(config, audioInput(config.audioFormat), config.continuous));
      const release = bindToCall(session, ctx);
      // Commands are read while events are written; a bad message ends the session with its status.
      void (async () => {
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) session.send(command(r.value.message));
        session.send({ type: "stop" });
      })().catch((err: unknown) => session.fail(asLipSyncError(requestError(err))));
      try {
        for await (const e of session.events) if (e.type !== "cleared") yield speakResponse(e);
      } finally {
        release();
      }
    }),

    speakAudio: streaming("SpeakAudio", async function* (req: SpeakAudioRequest, ctx: HandlerContext) {
      const { samples, rate } = decodeClip(req.audioFormat, req.audio);
      const session = await app.sessions.open(principalOf(ctx), sessionRequest(req, { sampleRate: rate, encoding: "f32le", channels: 1 }, false));
      const release = bindToCall(session, ctx);
      try {
        // The whole clip is here: it goes in as rendering makes room.
        for await (const e of playClip(session, samples, rate, app.config.clipFeedAheadSeconds, "stop")) {
          const msg = speakAudioResponse(e);
          if (msg) yield msg;
        }
      } finally {
        release();
      }
    }),
  };
}
