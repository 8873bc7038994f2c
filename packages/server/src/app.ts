/**
 * What every transport offers, once: avatars, source frames, rendering from the avatar's own
 * audio, speech sessions and statistics. Transports decode a request, call one method here and
 * encode the result; this file knows nothing of gRPC, HTTP or WebSocket.
 */
import { SAMPLE_RATE, SAMPLES_PER_FRAME, MAX_INPUT_RATE, MIN_INPUT_RATE } from "./audio/constants.js";
import { FrameWindows } from "./audio/frame-windows.js";
import { melSpectrogram } from "./audio/mel.js";
import type { Avatar } from "./avatar/avatar.js";
import { AvatarRegistry } from "./avatar/registry.js";
import type { ServerConfig } from "./config.js";
import { encodeJpeg } from "./engine/jpeg.js";
import { cropToPlanar, modelInput, type Rect } from "./engine/image-ops.js";
import { renderFrame, type ImageEncoding, type RenderedFrame } from "./engine/renderer.js";
import { LipSyncError, invalidArgument } from "./errors.js";
import type { Logger } from "./logger.js";
import { Stats } from "./metrics.js";
import { SessionRunner, type SessionOutput } from "./session/session-runner.js";

export interface AvatarSummary {
  name: string;
  loaded: boolean;
  frameCount: number;
  fps: number;
  width: number;
  height: number;
  description: string;
  license: string;
  model: { inputSize: number; lookaheadFrames: number; gmacPerFrame: number; provider: string } | undefined;
  error: string | undefined;
}

export type SourceView = "full" | "crop" | "masked-crop";

export interface SessionConfig {
  avatar: string;
  sampleRate: number;
  continuous: boolean;
  encoding: ImageEncoding;
  quality: number;
  /** Speech frames as mouth patches over the source frame. */
  patch?: boolean;
}

/** Most frames one RenderFrames call may ask for. */
export const MAX_FRAMES_PER_CALL = 256;

export class LipSyncApp {
  readonly config: ServerConfig;
  readonly registry: AvatarRegistry;
  readonly stats = new Stats();
  readonly logger: Logger;
  /** Live sessions with their id and avatar name. */
  private readonly sessions = new Map<SessionRunner, { id: string; avatar: string }>();
  private nextSessionId = 1;

  constructor(config: ServerConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
    this.registry = new AvatarRegistry(config, logger);
  }

  async start(): Promise<void> {
    for (const name of this.config.preloadAvatars) {
      try {
        await this.registry.load(name);
      } catch {
        // Logged by the registry; a broken package must not keep the others from serving.
      }
    }
  }

  summary(avatar: Avatar): AvatarSummary {
    const m = avatar.manifest;
    return {
      name: avatar.name, loaded: true, frameCount: m.frameCount, fps: m.fps, width: m.width, height: m.height, description: m.description, license: m.license,
      model: { inputSize: m.model.inputSize, lookaheadFrames: m.model.lookaheadFrames, gmacPerFrame: m.model.gmacPerFrame, provider: avatar.model.provider },
      error: undefined,
    };
  }

  async listAvatars(): Promise<AvatarSummary[]> {
    return (await this.registry.list()).map(({ name, loaded, manifest, error }) =>
      loaded ? this.summary(loaded) : {
        name, loaded: false, frameCount: manifest?.frameCount ?? 0, fps: manifest?.fps ?? 0, width: manifest?.width ?? 0, height: manifest?.height ?? 0,
        description: manifest?.description ?? "", license: manifest?.license ?? "", model: undefined, error,
      });
  }

  async getAvatar(name: string): Promise<{ summary: AvatarSummary; cropBoxes: Rect[]; mouthBox: Rect }> {
    const avatar = await this.registry.get(name);
    const [x0, y0, x1, y1] = avatar.manifest.mouthBox;
    return { summary: this.summary(avatar), cropBoxes: avatar.manifest.cropBoxes, mouthBox: [x0, y0, x1 - x0, y1 - y0] };
  }

  async loadAvatar(name: string): Promise<{ summary: AvatarSummary; loadMs: number }> {
    const already = this.registry.peek(name);
    const t = performance.now();
    const avatar = already ?? (await this.registry.load(name));
    return { summary: this.summary(avatar), loadMs: already ? 0 : performance.now() - t };
  }

  async unloadAvatar(name: string): Promise<boolean> {
    for (const [runner, info] of this.sessions) {
      if (info.avatar === name) runner.close(new LipSyncError("unavailable", `avatar "${name}" was unloaded`));
    }
    return this.registry.unload(name);
  }

  async sourceFrame(name: string, index: number, view: SourceView, encoding: ImageEncoding, quality = this.config.jpegQuality) {
    const avatar = await this.registry.get(name);
    avatar.checkIndex(index);
    const rect = avatar.rect(index);
    if (view === "full" && encoding === "jpeg") {
      return { image: avatar.sourceJpegs[index]!, width: avatar.manifest.width, height: avatar.manifest.height, cropRect: rect };
    }
    const frame = await avatar.frame(index);
    if (view === "full") return { image: frame.data, width: frame.width, height: frame.height, cropRect: rect };
    const size = avatar.manifest.model.inputSize;
    const planar = view === "crop" ? cropToPlanar(frame, rect, size) : modelInput(cropToPlanar(frame, rect, size), size, avatar.manifest.mouthBox).subarray(3 * size * size);
    const rgb = new Uint8Array(size * size * 3);
    for (let i = 0; i < size * size; i++) {
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(planar[c * size * size + i]! * 255);
    }
    const image = encoding === "rgb" ? rgb : new Uint8Array(await encodeJpeg(rgb, size, size, quality));
    return { image, width: size, height: size, cropRect: rect };
  }

  /** Frames driven by the avatar's own audio track, rendered concurrently (they batch). */
  async renderOwn(name: string, indices: number[], encoding: ImageEncoding, quality = this.config.jpegQuality): Promise<RenderedFrame[]> {
    if (indices.length > MAX_FRAMES_PER_CALL) {
      throw new LipSyncError("resource_exhausted", `at most ${MAX_FRAMES_PER_CALL} frames per call, got ${indices.length}`);
    }
    const avatar = await this.registry.get(name);
    for (const i of indices) avatar.checkIndex(i);
    const own = avatar.ownAudio;
    if (!own) throw new LipSyncError("failed_precondition", `avatar "${name}" has no audio track of its own; use Speak`);
    const frames = await Promise.all(indices.map((i) => renderFrame(avatar, { index: i, audio: own[i]!, encoding, quality: checkQuality(quality) })));
    for (const f of frames) this.stats.rendered(f.timings);
    return frames;
  }

  /**
   * One frame lipped to a short clip of 16 kHz audio (the seed's audio_override): the clip is
   * taken as speech around the frame, and the frame at its middle is rendered.
   */
  async renderWithAudio(name: string, index: number, samples: Float32Array, encoding: ImageEncoding, quality = this.config.jpegQuality): Promise<RenderedFrame> {
    const avatar = await this.registry.get(name);
    avatar.checkIndex(index);
    if (samples.length < SAMPLES_PER_FRAME) throw invalidArgument(`audio override must hold at least ${SAMPLES_PER_FRAME} samples (one frame at ${SAMPLE_RATE} Hz)`);
    const { mel, audioContext, audioFeatureDim } = avatar.manifest.model;
    const windows = new FrameWindows(mel);
    windows.add(melSpectrogram(samples, mel));
    windows.end();
    const centre = Math.floor(Math.ceil(samples.length / SAMPLES_PER_FRAME) / 2);
    const audio = new Float32Array(audioContext * audioFeatureDim);
    await Promise.all(Array.from({ length: audioContext }, async (_, k) => {
      const j = centre - audioContext + 1 + k;
      audio.set(j < 0 ? avatar.silenceFeature : (await avatar.model.encode(windows.window(j))).value, k * audioFeatureDim);
    }));
    const frame = await renderFrame(avatar, { index, audio, encoding, quality: checkQuality(quality) });
    this.stats.rendered(frame.timings);
    return frame;
  }

  /** A new speech session; the caller must call `closeSession` when its transport ends. */
  async openSession(config: SessionConfig): Promise<{ id: string; runner: SessionRunner; avatar: Avatar }> {
    if (!Number.isInteger(config.sampleRate) || config.sampleRate < MIN_INPUT_RATE || config.sampleRate > MAX_INPUT_RATE) {
      throw invalidArgument(`sample_rate must be an integer ${MIN_INPUT_RATE}..${MAX_INPUT_RATE}, got ${config.sampleRate}`);
    }
    if (this.sessions.size >= this.config.maxSessions) {
      throw new LipSyncError("resource_exhausted", `server is at its limit of ${this.config.maxSessions} sessions`);
    }
    const avatar = await this.registry.get(config.avatar);
    const runner = new SessionRunner(avatar, {
      continuous: config.continuous,
      inputRate: config.sampleRate,
      encoding: config.encoding,
      quality: checkQuality(config.quality),
      patch: config.patch ?? false,
      maxQueuedFrames: this.config.maxQueuedFrames,
      maxQueuedSeconds: this.config.maxQueuedAudioSeconds,
      onRendered: (t) => this.stats.rendered(t),
    });
    const id = `s${this.nextSessionId++}`;
    this.sessions.set(runner, { id, avatar: avatar.name });
    this.stats.sessionOpened();
    this.logger.info({ session: id, avatar: avatar.name, rate: config.sampleRate, continuous: config.continuous }, "session started");
    return { id, runner, avatar };
  }

  /**
   * A session's outputs, as transports send them, timing each utterance's first frame: from the
   * speech-started event (queued when its first audio arrives) to its first speech frame.
   */
  async *outputs(runner: SessionRunner): AsyncGenerator<SessionOutput> {
    let speechAt: number | undefined;
    for await (const out of runner) {
      if (out.type === "speech-started") speechAt = performance.now();
      else if (out.type === "frame" && out.frame.kind === "speech" && speechAt !== undefined) {
        this.stats.firstFrame((performance.now() - speechAt) / 1000);
        speechAt = undefined;
      }
      yield out;
    }
  }

  closeSession(runner: SessionRunner): void {
    const info = this.sessions.get(runner);
    if (!info) return;
    this.sessions.delete(runner);
    runner.abort();
    this.stats.sessionClosed();
    this.logger.info({ session: info.id }, "session ended");
  }

  /** Ends every session (shutdown); their transports see the iterators fail with `reason`. */
  closeAllSessions(reason: LipSyncError): void {
    for (const runner of [...this.sessions.keys()]) {
      runner.close(reason);
      this.closeSession(runner);
    }
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    this.closeAllSessions(new LipSyncError("unavailable", "server is shutting down"));
    await this.registry.closeAll();
  }
}

function checkQuality(q: number): number {
  if (!Number.isInteger(q) || q < 1 || q > 100) throw invalidArgument(`quality must be an integer 1..100, got ${q}`);
  return q;
}
