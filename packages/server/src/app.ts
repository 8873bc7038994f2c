/**
 * What every transport offers, once: avatars, source frames, rendering from the avatar's own
 * audio, speech sessions and statistics. Transports decode a request, call one method here and
 * encode the result; this file knows nothing of gRPC, HTTP or WebSocket.
 */
import { SAMPLE_RATE, MAX_INPUT_RATE, MIN_INPUT_RATE } from "./audio/constants.js";
import { layWindow, SILENCE, windowLength, windowSlots } from "./audio/frontends/feature-window.js";
import { silenceInput, trackInputs } from "./audio/frontends/inputs.js";
import type { Avatar } from "./avatar/avatar.js";
import { AvatarRegistry } from "./avatar/registry.js";
import type { ServerConfig } from "./config.js";
import { measureThroughput, sessionsFor, type Throughput } from "./engine/capacity.js";
import { encodeJpeg } from "./engine/jpeg.js";
import { blankBox, cropToPlanar, type Rect } from "./engine/image-ops.js";
import { renderFrame, type ImageEncoding, type RenderedFrame } from "./engine/renderer.js";
import { LipSyncError, invalidArgument } from "./errors.js";
import type { Logger } from "./logger.js";
import { Stats } from "./metrics.js";
import { SessionRunner } from "./session/session-runner.js";

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
  capacity: CapacityInfo | undefined;
  error: string | undefined;
}

/** Real-time sessions of one avatar the server admits, and the engine rate behind the figure. */
export interface CapacityInfo {
  sessions: number;
  sessionsPatch: number;
  fullFps: number;
  patchFps: number;
  /** False when set by the operator (ServerConfig.sessionCapacity). */
  measured: boolean;
}

export interface Readiness {
  serving: boolean;
  /** Why not, for logs and /healthz: "no avatar loaded", "at capacity", "shutting down". */
  reason: string;
}

/** How long a client refused for capacity is told to wait before retrying, ms. */
export const ADMISSION_RETRY_MS = 2000;

export type SourceView = "full" | "crop" | "masked-crop";

export interface SessionConfig {
  avatar: string;
  sampleRate: number;
  continuous: boolean;
  encoding: ImageEncoding;
  quality: number;
  /** Speech frames as mouth patches over the source frame. */
  patch?: boolean;
  /**
   * The client plays frames as they come (default): late frames are dropped past the latency
   * bound. False for offline rendering, where every frame is wanted however long it takes.
   */
  realtime?: boolean;
}

/** Most frames one RenderFrames call may ask for. */
export const MAX_FRAMES_PER_CALL = 256;

export class LipSyncApp {
  readonly config: ServerConfig;
  readonly registry: AvatarRegistry;
  readonly stats = new Stats();
  readonly logger: Logger;
  /** Live sessions with their id, avatar name and share of the machine's capacity. */
  private readonly sessions = new Map<SessionRunner, { id: string; avatar: string; cost: number }>();
  private nextSessionId = 1;
  /** Engine rate measured per loaded avatar. */
  private readonly throughput = new WeakMap<Avatar, Throughput>();
  /** Sum of the live sessions' costs: 1 is the machine's real-time capacity. */
  private load = 0;
  private draining = false;

  constructor(config: ServerConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
    this.registry = new AvatarRegistry(config, logger, (avatar) => this.measure(avatar));
  }

  /** Times the whole frame pipeline of a freshly loaded avatar (unless the operator set the capacity). */
  private async measure(avatar: Avatar): Promise<void> {
    if (this.config.sessionCapacity > 0) return;
    const { window, featureDim, frontEnd } = avatar.manifest.model.audio;
    const audio = new Float32Array(windowLength(window) * featureDim);
    if (avatar.silenceFeature) for (let k = 0; k < windowLength(window); k++) audio.set(avatar.silenceFeature, k * featureDim);
    const t = await measureThroughput(avatar, {
      frameCount: avatar.frameCount, maxBatch: this.config.maxBatch, quality: this.config.jpegQuality, audio, encoderInput: silenceInput(frontEnd),
    });
    this.throughput.set(avatar, t);
    const c = this.capacity(avatar);
    this.logger.info({ avatar: avatar.name, fps: Math.round(t.fullFps), patchFps: Math.round(t.patchFps), sessions: c.sessions, sessionsPatch: c.sessionsPatch, ms: Math.round(t.ms) }, "avatar capacity measured");
  }

  /** Real-time sessions of `avatar` this server holds, alone. */
  capacity(avatar: Avatar): CapacityInfo {
    const fixed = this.config.sessionCapacity;
    const t = this.throughput.get(avatar);
    if (fixed > 0 || !t) {
      const n = fixed > 0 ? fixed : this.config.maxSessions;
      return { sessions: n, sessionsPatch: n, fullFps: 0, patchFps: 0, measured: false };
    }
    const { fps } = avatar.manifest;
    const u = this.config.capacityUtilisation;
    return { sessions: sessionsFor(t.fullFps, fps, u), sessionsPatch: sessionsFor(t.patchFps, fps, u), fullFps: t.fullFps, patchFps: t.patchFps, measured: true };
  }

  private sessionCost(avatar: Avatar, patch: boolean): number {
    const c = this.capacity(avatar);
    return 1 / (patch ? c.sessionsPatch : c.sessions);
  }

  /** Share of the capacity in use, 0..1. */
  get capacityUsed(): number {
    return Math.min(1, this.load);
  }

  /**
   * Whether a load balancer should send new sessions here: an avatar is loaded, the server is
   * not shutting down, and at least one more session fits.
   */
  readiness(): Readiness {
    if (this.draining) return { serving: false, reason: "shutting down" };
    const loaded = this.registry.loadedAvatars();
    if (loaded.length === 0) return { serving: false, reason: "no avatar loaded" };
    if (this.sessions.size >= this.config.maxSessions || !loaded.some((a) => this.fits(this.sessionCost(a, true)))) {
      return { serving: false, reason: "at capacity" };
    }
    return { serving: true, reason: "serving" };
  }

  /** Readiness goes NOT_SERVING at once and new sessions are refused (graceful shutdown). */
  startDraining(): void {
    this.draining = true;
  }

  private fits(cost: number): boolean {
    // A little slack so that n sessions of cost 1/n always fit despite rounding.
    return this.load + cost <= 1 + 1e-9;
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
      model: { inputSize: m.model.image.size, lookaheadFrames: m.model.lookaheadFrames, gmacPerFrame: m.model.gmacPerFrame, provider: avatar.model.provider },
      capacity: this.capacity(avatar),
      error: undefined,
    };
  }

  async listAvatars(): Promise<AvatarSummary[]> {
    return (await this.registry.list()).map(({ name, loaded, manifest, error }) =>
      loaded ? this.summary(loaded) : {
        name, loaded: false, frameCount: manifest?.frameCount ?? 0, fps: manifest?.fps ?? 0, width: manifest?.width ?? 0, height: manifest?.height ?? 0,
        description: manifest?.description ?? "", license: manifest?.license ?? "", model: undefined, capacity: undefined, error,
      });
  }

  async getAvatar(name: string): Promise<{ summary: AvatarSummary; cropBoxes: Rect[]; mouthBox: Rect }> {
    const avatar = await this.registry.get(name);
    // The paste region, in model-input pixels.
    const [x0, y0, x1, y1] = avatar.manifest.model.image.paste;
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
    const geometry = avatar.manifest.model.image;
    const size = geometry.size;
    const crop = cropToPlanar(frame, rect, geometry);
    const planar = view === "crop" ? crop : blankBox(crop, size, geometry.mask);
    const rgb = new Uint8Array(size * size * 3);
    for (let i = 0; i < size * size; i++) {
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(planar[c * size * size + i]! * 255);
    }
    const image = encoding === "rgb" ? rgb : new Uint8Array(await encodeJpeg(rgb, size, size, quality));
    return { image, width: size, height: size, cropRect: rect };
  }

  /**
   * Frames driven by the avatar's own audio track, rendered concurrently (they batch). When
   * `signal` aborts (the caller went away) frames not yet in a running batch are never rendered.
   */
  async renderOwn(name: string, indices: number[], encoding: ImageEncoding, quality = this.config.jpegQuality, signal?: AbortSignal): Promise<RenderedFrame[]> {
    if (indices.length > MAX_FRAMES_PER_CALL) {
      throw new LipSyncError("resource_exhausted", `at most ${MAX_FRAMES_PER_CALL} frames per call, got ${indices.length}`);
    }
    const avatar = await this.registry.get(name);
    for (const i of indices) avatar.checkIndex(i);
    if (!avatar.ownFeatures) throw new LipSyncError("failed_precondition", `avatar "${name}" has no audio track of its own; use Speak`);
    const frames = await Promise.all(indices.map(async (i) => ({
      ...(await renderFrame(avatar, { index: i, audio: avatar.ownWindow(i)!, encoding, quality: checkQuality(quality), schedule: { signal } })), pts: i * avatar.samplesPerFrame,
    })));
    for (const f of frames) this.stats.rendered(f.timings);
    return frames;
  }

  /**
   * One frame lipped to a short clip of 16 kHz audio (the seed's audio_override): the clip is
   * taken as speech around the frame, and the frame at its middle is rendered.
   */
  async renderWithAudio(name: string, index: number, samples: Float32Array, encoding: ImageEncoding, quality = this.config.jpegQuality, signal?: AbortSignal): Promise<RenderedFrame> {
    const avatar = await this.registry.get(name);
    avatar.checkIndex(index);
    const spf = avatar.samplesPerFrame;
    if (samples.length < spf) throw invalidArgument(`audio override must hold at least ${spf} samples (one frame at ${SAMPLE_RATE} Hz)`);
    const { frontEnd, window, featureDim } = avatar.manifest.model.audio;
    if (frontEnd.kind === "none") throw new LipSyncError("failed_precondition", `avatar "${name}" has no live audio front end (precomputed features only)`);
    const count = Math.ceil(samples.length / spf);
    const centre = Math.floor(count / 2);
    const inputs = trackInputs(frontEnd, spf, samples, count);
    const slots = windowSlots(window, centre, count);
    const features = await Promise.all(slots.map(async (k) => (k >= 0 ? (await avatar.model.encode(inputs[k]!, { signal })).value : k === SILENCE ? avatar.silenceFeature : undefined)));
    const audio = layWindow(features, featureDim, new Float32Array(windowLength(window) * featureDim));
    const frame = { ...(await renderFrame(avatar, { index, audio, encoding, quality: checkQuality(quality), schedule: { signal } })), pts: index * spf };
    this.stats.rendered(frame.timings);
    return frame;
  }

  /** A new speech session; the caller must call `closeSession` when its transport ends. */
  async openSession(config: SessionConfig): Promise<{ id: string; runner: SessionRunner; avatar: Avatar }> {
    if (!Number.isInteger(config.sampleRate) || config.sampleRate < MIN_INPUT_RATE || config.sampleRate > MAX_INPUT_RATE) {
      throw invalidArgument(`sample_rate must be an integer ${MIN_INPUT_RATE}..${MAX_INPUT_RATE}, got ${config.sampleRate}`);
    }
    if (this.draining) throw new LipSyncError("unavailable", "server is shutting down", { retryAfterMs: ADMISSION_RETRY_MS });
    if (this.sessions.size >= this.config.maxSessions) {
      this.stats.sessionRefused();
      throw new LipSyncError("resource_exhausted", `server is at its limit of ${this.config.maxSessions} sessions; retry later`, { retryAfterMs: ADMISSION_RETRY_MS });
    }
    const avatar = await this.registry.get(config.avatar);
    if (avatar.manifest.model.audio.frontEnd.kind === "none") {
      throw new LipSyncError("failed_precondition", `avatar "${avatar.name}" has no live audio front end (only precomputed features of its own track): it renders with RenderFrame, not Speak`);
    }
    const cost = this.sessionCost(avatar, config.patch ?? false);
    if (!this.fits(cost)) {
      this.stats.sessionRefused();
      const c = this.capacity(avatar);
      throw new LipSyncError("resource_exhausted",
        `server is at capacity: it holds ${config.patch ? c.sessionsPatch : c.sessions} real-time sessions of avatar "${avatar.name}"; retry later`,
        { retryAfterMs: ADMISSION_RETRY_MS });
    }
    const runner = new SessionRunner(avatar, {
      continuous: config.continuous,
      inputRate: config.sampleRate,
      encoding: config.encoding,
      quality: checkQuality(config.quality),
      patch: config.patch ?? false,
      maxQueuedFrames: this.config.maxQueuedFrames,
      maxQueuedSeconds: this.config.maxQueuedAudioSeconds,
      ...(config.realtime === false ? {} : { maxLatencyMs: this.config.maxFrameLatencyMs }),
      onRendered: (t) => this.stats.rendered(t),
      onDropped: (n) => this.stats.dropped(n),
    });
    const id = `s${this.nextSessionId++}`;
    this.sessions.set(runner, { id, avatar: avatar.name, cost });
    this.load += cost;
    this.stats.sessionOpened();
    this.logger.info({ session: id, avatar: avatar.name, rate: config.sampleRate, continuous: config.continuous }, "session started");
    return { id, runner, avatar };
  }

  closeSession(runner: SessionRunner): void {
    const info = this.sessions.get(runner);
    if (!info) return;
    this.sessions.delete(runner);
    this.load = this.sessions.size === 0 ? 0 : Math.max(0, this.load - info.cost);
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
