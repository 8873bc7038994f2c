/**
 * Drives one live session through the pipeline's stages, in one direction:
 *
 *   audio -> SpeechSession (clock, utterances, idle, jobs; Sans-I/O)
 *         -> FeatureStage (encoder features, audio windows)
 *         -> render stage (engine/renderer.ts: batched UNet, compose, encode)
 *         -> OutputQueue (pts order, barge-in generations, backpressure)
 *
 * and paces idle frames between utterances. Transports reach it through LiveSession (commands
 * in, events out); tests and tools may drive it directly. It imports no transport.
 *
 * Backpressure: at most `maxQueuedFrames` outputs wait for the consumer. When that fills, idle
 * frames are skipped (the clock moves on) and no more speech frames are rendered, so audio
 * accumulates in the session; past `maxQueuedSeconds` of it, pushAudio fails with
 * RESOURCE_EXHAUSTED.
 *
 * Latency bound: with `maxLatencyMs`, a speech frame that cannot be ready within that long of
 * being due is dropped unrendered by the late-frame rule (engine/deadline.ts), and the consumer
 * gets one `frames-dropped` event per run of them: a session that fell behind catches up instead
 * of lagging further. Without it (offline rendering) no frame is ever dropped.
 */
import { setMaxListeners } from "node:events";
import { SAMPLE_RATE } from "../audio/constants.js";
import { decodePcm, type PcmFormat } from "../audio/pcm.js";
import type { Avatar } from "../avatar/avatar.js";
import { DEFAULTS } from "../config.js";
import { FrameDropped } from "../engine/deadline.js";
import { makeFrame, type ImageEncoding, type StageTimings } from "../engine/frame.js";
import { renderFrame } from "../engine/renderer.js";
import { LipSyncError, asLipSyncError } from "../errors.js";
import { FeatureStage } from "./features.js";
import { OutputQueue, type Settled } from "./output-queue.js";
import { PlaybackTracker } from "./playback.js";
import type { SessionOutput } from "./protocol.js";
import { SpeechSession, type FrameJob, type FrontEndFactory } from "./speech-session.js";

export type { SessionOutput };

export interface RunnerOptions {
  continuous: boolean;
  inputRate: number;
  encoding: ImageEncoding;
  quality: number;
  /** Speech frames as mouth patches. */
  patch?: boolean;
  maxQueuedFrames: number;
  maxQueuedSeconds: number;
  /** How audio chunks (pushChunk) are encoded; default 16-bit mono. */
  chunkFormat?: PcmFormat;
  /** Largest audio chunk pushChunk accepts, bytes; default: no limit. */
  maxChunkBytes?: number;
  /** Drop a speech frame not ready within this long of being due; undefined: never drop. */
  maxLatencyMs?: number;
  /** Frames of one session in the engine at once. */
  maxInFlight?: number;
  /** Without a latency bound the engine still orders work by deadline: this long after a frame is due, ms. */
  offlineSlackMs?: number;
  /** Where the session's audio is computed (default: this thread). */
  frontEnd?: FrontEndFactory;
  /** Called with the timings of every rendered speech frame (metrics). */
  onRendered?: (timings: StageTimings) => void;
  /** Called with the number of speech frames dropped late (metrics). */
  onDropped?: (frames: number) => void;
  now?: () => number;
}

type Resolved = Required<Omit<RunnerOptions, "onRendered" | "onDropped" | "patch" | "maxLatencyMs" | "frontEnd">> &
  Pick<RunnerOptions, "onRendered" | "onDropped" | "patch" | "maxLatencyMs" | "frontEnd">;

/** Every frame and feature in flight listens on it: two per frame, up to maxInFlight frames. */
function workController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

export class SessionRunner implements AsyncIterable<SessionOutput> {
  readonly session: SpeechSession;
  private readonly avatar: Avatar;
  private readonly options: Resolved;
  private readonly features: FeatureStage;
  private readonly queue: OutputQueue;
  private readonly playback = new PlaybackTracker();
  /** Cancels the engine work of the current generation (barge-in, abort). */
  private work = workController();
  private inFlight = 0;
  /** pts just past the last frame the consumer has been given. */
  private sentEndPts = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: LipSyncError | undefined;
  /** finish() was called: close once the utterance's frames are out. */
  private closeWhenDrained = false;

  constructor(avatar: Avatar, options: RunnerOptions) {
    this.avatar = avatar;
    // A server passes its configuration (service/sessions.ts); tests and tools get its defaults.
    this.options = {
      maxInFlight: DEFAULTS.maxInFlightPerSession, offlineSlackMs: DEFAULTS.offlineSlackMs, chunkFormat: { encoding: "s16le", channels: 1 }, maxChunkBytes: Number.POSITIVE_INFINITY,
      now: () => performance.now(), ...options,
    };
    const { audio } = avatar.manifest.model;
    this.session = new SpeechSession(
      { frameCount: avatar.frameCount, samplesPerFrame: avatar.samplesPerFrame, frontEnd: audio.frontEnd, window: audio.window, inputRate: options.inputRate, continuous: options.continuous },
      this.options.now(),
      options.frontEnd,
      this.options.now,
    );
    this.features = new FeatureStage(avatar.model, { audio, silence: avatar.silenceFeature });
    this.queue = new OutputQueue(avatar.samplesPerFrame, {
      consumed: () => this.pump(),
      sentUpTo: (pts) => (this.sentEndPts = pts),
      dropped: (n) => this.options.onDropped?.(n),
    });
    // Updates from a worker front end arrive between calls: new frames may be ready.
    this.session.onUpdate = () => this.pump();
    this.scheduleIdle();
  }

  /**
   * One audio chunk as a transport received it, in the session's chunk format (or `format`, which
   * may change where an utterance starts), refused past the chunk limit with RESOURCE_EXHAUSTED.
   */
  pushChunk(data: Uint8Array, format?: PcmFormat & { rate: number }): void {
    const { maxChunkBytes } = this.options;
    if (data.byteLength > maxChunkBytes) {
      throw new LipSyncError("resource_exhausted", `audio chunk of ${data.byteLength} bytes exceeds the ${maxChunkBytes}-byte limit`);
    }
    if (format) this.setFormat(format);
    const { encoding, channels } = this.options.chunkFormat;
    this.pushAudio(decodePcm(data, encoding, channels));
  }

  /**
   * Mono samples at the input rate. Audio after `end` starts the next utterance, which follows
   * the current one once its frames are out.
   */
  pushAudio(samples: Float32Array): void {
    this.checkOpen();
    const queuedSeconds = (this.session.queuedSamples + (samples.length * SAMPLE_RATE) / this.options.inputRate) / SAMPLE_RATE;
    if (queuedSeconds > this.options.maxQueuedSeconds) {
      throw new LipSyncError("resource_exhausted", `more than ${this.options.maxQueuedSeconds} s of audio queued: the consumer is not reading frames fast enough`);
    }
    const started = this.session.pushAudio(samples, this.options.now());
    if (started !== undefined) this.queue.push({ type: "speech-started", pts: started });
    this.pump();
  }

  end(): void {
    this.checkOpen();
    this.session.end(this.options.now());
    this.pump();
  }

  /** Barge-in: unsent speech frames are dropped, their engine work cancelled, and idle resumes at once. */
  clear(): void {
    this.checkOpen();
    this.queue.newGeneration();
    this.work.abort();
    this.work = workController();
    this.features.clear();
    const bounds = this.session.clear(this.sentEndPts, this.options.now());
    if (bounds) {
      this.queue.push({ type: "speech-ended", startPts: bounds.startPts, endPts: bounds.endPts, interrupted: true });
      this.queue.push(this.playback.interrupted(bounds));
    }
    this.queue.push({ type: "cleared" });
    this.pump();
  }

  /** The client's player is presenting `pts` now. */
  playbackPosition(pts: number): void {
    this.checkOpen();
    for (const e of this.playback.position(pts)) this.queue.push(e);
  }

  /** Ends the session: the iterator finishes after what is queued (or at once, if `error`). */
  close(error?: LipSyncError): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (error) this.session.close();
    this.queue.close(error);
  }

  /** The consumer is gone (cancelled call, closed socket): drop everything and cancel its engine work. */
  abort(): void {
    this.close();
    this.session.close();
    this.work.abort();
    this.queue.dropAll();
  }

  /** Closes once every queued output has been consumed. */
  finish(): void {
    this.end();
    if (!this.session.speaking && this.inFlight === 0) this.close();
    else this.closeWhenDrained = true;
  }

  get queuedOutputs(): number {
    return this.queue.length;
  }

  /** Frames of this session in the engine now. */
  get inFlightFrames(): number {
    return this.inFlight;
  }

  [Symbol.asyncIterator](): AsyncIterator<SessionOutput> {
    return this.queue[Symbol.asyncIterator]();
  }

  private setFormat(format: PcmFormat & { rate: number }): void {
    const current = this.options.chunkFormat;
    if (format.rate === this.options.inputRate && format.encoding === current.encoding && format.channels === current.channels) return;
    if (this.session.open) throw new LipSyncError("invalid_argument", "the audio format may change only where an utterance starts");
    this.options.chunkFormat = { encoding: format.encoding, channels: format.channels };
    this.options.inputRate = format.rate;
    this.session.setInputRate(format.rate);
  }

  private checkOpen(): void {
    if (this.closed) throw this.failure ?? new LipSyncError("failed_precondition", "session is closed");
  }

  private pump(): void {
    if (this.closed) return;
    for (;;) {
      const room = Math.min(this.options.maxQueuedFrames - this.queue.length, this.options.maxInFlight - this.inFlight);
      if (room > 0) for (const job of this.session.takeJobs(room)) this.render(job);
      const done = this.session.finishIfDone(this.options.now());
      if (!done) break;
      this.queue.push({ type: "speech-ended", startPts: done.startPts, endPts: done.endPts, interrupted: false });
      for (const e of this.playback.ended(done)) this.queue.push(e);
      if (done.next === undefined) break;
      this.queue.push({ type: "speech-started", pts: done.next });
    }
    if (this.closeWhenDrained && !this.session.speaking && this.inFlight === 0) {
      this.closeWhenDrained = false;
      this.close();
    }
    this.scheduleIdle();
  }

  /** One job through the features and render stages into the queue, in order. */
  private render(job: FrameJob): void {
    const startedAt = this.options.now();
    const generation = this.queue.generation;
    const { maxLatencyMs } = this.options;
    const schedule = {
      deadline: job.dueAt + (maxLatencyMs ?? this.options.offlineSlackMs), droppable: maxLatencyMs !== undefined, signal: this.work.signal,
    };
    const audio = this.features.window(job, schedule);
    this.inFlight++;
    const settled = audio
      .then((a) => renderFrame(this.avatar, {
        index: job.sourceIndex, pts: job.pts, audio: a, encoding: this.options.encoding, quality: this.options.quality, patch: this.options.patch, startedAt, schedule,
      }))
      .then((frame): Settled => {
        if (generation === this.queue.generation) this.options.onRendered?.(frame.timings!);
        return { kind: "output", output: { type: "frame", frame } };
      }, (err: unknown): Settled => {
        if (err instanceof FrameDropped) return { kind: "dropped", pts: job.pts };
        const e = asLipSyncError(err);
        if (e.code === "cancelled" || generation !== this.queue.generation) return { kind: "skip" };
        return { kind: "error", error: e };
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
    this.queue.pushPending(settled, true);
  }

  private scheduleIdle(): void {
    if (this.closed || !this.options.continuous) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const now = this.options.now();
    for (let due = this.session.idleDue(now); due; due = this.session.idleDue(now)) {
      // Backpressure: idle frames are the first to go.
      if (this.queue.length >= this.options.maxQueuedFrames) continue;
      this.pushIdle(due.sourceIndex, due.pts);
    }
    const at = this.session.nextIdleAt();
    if (at === undefined) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.scheduleIdle();
    }, Math.max(1, at - this.options.now()));
  }

  /** An idle frame: the source frame as it is, in the session's encoding (JPEG: the package's own). */
  private pushIdle(sourceIndex: number, pts: number): void {
    const { width, height } = this.avatar.manifest;
    const encoding = this.options.encoding;
    const frame = (image: Uint8Array) => makeFrame({ image, encoding, width, height, sourceIndex, pts, kind: "idle" });
    const image = this.avatar.idleImage(sourceIndex, encoding);
    if (image instanceof Uint8Array) {
      this.queue.push({ type: "frame", frame: frame(image) });
      return;
    }
    this.queue.pushPending(image.then((i): Settled => ({ kind: "output", output: { type: "frame", frame: frame(i) } }), (err: unknown): Settled => ({ kind: "error", error: asLipSyncError(err) })), false);
  }
}
