/**
 * Drives a SpeechSession against the engine: turns its jobs into rendered frames (batched with
 * every other session of the avatar), keeps outputs in pts order, paces idle frames, and bounds
 * every queue. Transports feed it commands and read `SessionOutput`s from its async iterator;
 * it imports no transport.
 *
 * Backpressure: at most `maxQueuedFrames` outputs wait for the consumer. When that fills, idle
 * frames are skipped (the clock moves on) and no more speech frames are rendered, so audio
 * accumulates in the session; past `maxQueuedSeconds` of it, pushAudio fails with
 * RESOURCE_EXHAUSTED.
 *
 * Latency bound: with `maxLatencyMs`, a speech frame that cannot be rendered within that long
 * of being due (engine/batcher.ts's deadline) is dropped unrendered and the consumer gets one
 * `frames-dropped` event per run of them, so a session that fell behind catches up instead of
 * lagging further. Without it (offline rendering) no frame is ever dropped.
 */
import { setMaxListeners } from "node:events";
import { SAMPLE_RATE } from "../audio/constants.js";
import { layWindow, SILENCE, windowLength, windowSlots } from "../audio/frontends/feature-window.js";
import type { Avatar } from "../avatar/avatar.js";
import { DROPPED } from "../engine/batcher.js";
import { renderFrame, type ImageEncoding, type StageTimings } from "../engine/renderer.js";
import type { Rect } from "../engine/image-ops.js";
import { LipSyncError, asLipSyncError } from "../errors.js";
import { SpeechSession, type FrameJob, type SegmentBounds } from "./speech-session.js";

export interface OutFrame {
  /** The whole frame, or only the mouth box when `patch` (paste it at `mouthRect`). */
  image: Uint8Array;
  patch: boolean;
  encoding: ImageEncoding;
  width: number;
  height: number;
  sourceIndex: number;
  pts: number;
  kind: "speech" | "idle";
  mouthRect: Rect | undefined;
  timings: StageTimings | undefined;
}

export type SessionOutput =
  | { type: "frame"; frame: OutFrame }
  | { type: "speech-started"; pts: number }
  | { type: "speech-ended"; startPts: number; endPts: number; interrupted: boolean }
  | { type: "playback-finished"; position: number; interrupted: boolean }
  /** Speech frames [startPts, endPts) were dropped unrendered: they would have come too late. */
  | { type: "frames-dropped"; startPts: number; endPts: number };

export interface RunnerOptions {
  continuous: boolean;
  inputRate: number;
  encoding: ImageEncoding;
  quality: number;
  /** Speech frames as mouth patches. */
  patch?: boolean;
  maxQueuedFrames: number;
  maxQueuedSeconds: number;
  /** Drop a speech frame not rendered within this long of being due; undefined: never drop. */
  maxLatencyMs?: number;
  /** Frames of one session in the engine at once. */
  maxInFlight?: number;
  /** Called with the timings of every rendered speech frame (metrics). */
  onRendered?: (timings: StageTimings) => void;
  /** Called with the number of speech frames dropped late (metrics). */
  onDropped?: (frames: number) => void;
  now?: () => number;
}

/** What a queue entry came to. */
type Settled =
  | { kind: "output"; output: SessionOutput }
  | { kind: "dropped"; pts: number }
  | { kind: "skip" }
  | { kind: "error"; error: LipSyncError };

interface Entry {
  generation: number;
  speech: boolean;
  /** Settles exactly once and never rejects; `cancel` settles it as skipped. */
  settled: Promise<Settled>;
  cancel: () => void;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Every frame and feature in flight listens on it: two per frame, up to maxInFlight frames. */
function workController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

function settledEntry(generation: number, speech: boolean, value: Settled): Entry {
  return { generation, speech, settled: Promise.resolve(value), cancel: () => undefined };
}

export class SessionRunner implements AsyncIterable<SessionOutput> {
  readonly session: SpeechSession;
  private readonly avatar: Avatar;
  private readonly options: Required<Omit<RunnerOptions, "onRendered" | "onDropped" | "patch" | "maxLatencyMs">> &
    Pick<RunnerOptions, "onRendered" | "onDropped" | "patch" | "maxLatencyMs">;
  private queue: Entry[] = [];
  private wake = deferred();
  private generation = 0;
  /** Cancels the engine work of the current generation (barge-in, abort). */
  private work = workController();
  /** Encoder features of the current utterance's frames, by frame index. */
  private features = new Map<number, Promise<Float32Array>>();
  private featuresSegment = -1;
  private inFlight = 0;
  private sentEndPts = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: LipSyncError | undefined;
  private playbackReported = false;
  private playbackPts = 0;
  private awaitingPlayback: SegmentBounds[] = [];
  /** finish() was called: close once the utterance's frames are out. */
  private closeWhenDrained = false;
  /** A run of dropped frames not yet reported: [startPts, endPts). */
  private dropRun: { startPts: number; endPts: number } | undefined;

  constructor(avatar: Avatar, options: RunnerOptions) {
    this.avatar = avatar;
    this.options = { maxInFlight: 16, now: () => performance.now(), ...options };
    this.session = new SpeechSession(
      {
        frameCount: avatar.frameCount, samplesPerFrame: avatar.samplesPerFrame, frontEnd: avatar.manifest.model.audio.frontEnd,
        window: avatar.manifest.model.audio.window, inputRate: options.inputRate, continuous: options.continuous,
      },
      this.options.now(),
    );
    this.scheduleIdle();
  }

  /**
   * Mono samples at the configured input rate. Audio after `end` starts the next utterance,
   * which follows the current one once its frames are out.
   */
  pushAudio(samples: Float32Array): void {
    this.checkOpen();
    const queuedSeconds = (this.session.queuedSamples + (samples.length * SAMPLE_RATE) / this.options.inputRate) / SAMPLE_RATE;
    if (queuedSeconds > this.options.maxQueuedSeconds) {
      throw new LipSyncError("resource_exhausted", `more than ${this.options.maxQueuedSeconds} s of audio queued: the consumer is not reading frames fast enough`);
    }
    const started = this.session.pushAudio(samples, this.options.now());
    if (started !== undefined) this.push({ type: "speech-started", pts: started });
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
    this.newGeneration();
    const bounds = this.session.clear(this.sentEndPts, this.options.now());
    if (bounds) {
      this.push({ type: "speech-ended", startPts: bounds.startPts, endPts: bounds.endPts, interrupted: true });
      const played = this.playbackReported ? this.playbackPts : bounds.endPts;
      const position = Math.max(0, Math.min(bounds.endPts, played) - bounds.startPts);
      this.push({ type: "playback-finished", position, interrupted: true });
    }
    this.awaitingPlayback = [];
    this.pump();
  }

  /** The client's player is presenting `pts` now. */
  playbackPosition(pts: number): void {
    this.checkOpen();
    this.playbackReported = true;
    this.playbackPts = Math.max(this.playbackPts, pts);
    this.releasePlayback();
  }

  /** Ends the session: the iterator finishes after what is queued (or at once, if `error`). */
  close(error?: LipSyncError): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (error) this.dropQueue();
    this.wake.resolve();
  }

  /** The consumer is gone (cancelled call, closed socket): drop everything and cancel its engine work. */
  abort(): void {
    this.close();
    this.work.abort();
    this.dropQueue();
  }

  /** Closes once every queued output has been consumed. */
  finish(): void {
    this.end();
    this.pump();
    if (!this.session.speaking && this.inFlight === 0) {
      this.close();
    } else {
      this.closeWhenDrained = true;
    }
  }

  get queuedOutputs(): number {
    return this.queue.length;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SessionOutput> {
    for (;;) {
      const head = this.queue[0];
      if (!head) {
        const drops = this.takeDropRun();
        if (drops) {
          yield drops;
          continue;
        }
        if (this.closed) {
          if (this.failure) throw this.failure;
          return;
        }
        await this.wake.promise;
        this.wake = deferred();
        continue;
      }
      const r = await head.settled;
      if (this.queue[0] !== head) continue; // dropped by a clear or an abort while we waited
      this.queue.shift();
      if (head.speech && head.generation !== this.generation) continue;
      if (r.kind === "skip") continue;
      if (r.kind === "error") {
        this.close(r.error);
        throw r.error;
      }
      if (r.kind === "dropped") {
        const spf = this.avatar.samplesPerFrame;
        this.dropRun = this.dropRun ? { startPts: this.dropRun.startPts, endPts: r.pts + spf } : { startPts: r.pts, endPts: r.pts + spf };
        this.sentEndPts = r.pts + spf;
        this.options.onDropped?.(1);
        this.pump();
        continue;
      }
      const drops = this.takeDropRun();
      if (drops) yield drops;
      const value = r.output;
      if (value.type === "frame") this.sentEndPts = value.frame.pts + this.avatar.samplesPerFrame;
      this.pump();
      yield value;
    }
  }

  private takeDropRun(): SessionOutput | undefined {
    const run = this.dropRun;
    this.dropRun = undefined;
    return run ? { type: "frames-dropped", startPts: run.startPts, endPts: run.endPts } : undefined;
  }

  private checkOpen(): void {
    if (this.closed) throw this.failure ?? new LipSyncError("failed_precondition", "session is closed");
  }

  private newGeneration(): void {
    this.generation++;
    this.work.abort();
    this.work = workController();
    this.queue = this.queue.filter((e) => {
      if (e.speech) e.cancel();
      return !e.speech;
    });
    this.features.clear();
    this.dropRun = undefined;
  }

  private dropQueue(): void {
    for (const e of this.queue) e.cancel();
    this.queue = [];
    this.dropRun = undefined;
  }

  private push(output: SessionOutput): void {
    this.queue.push(settledEntry(this.generation, false, { kind: "output", output }));
    this.wake.resolve();
  }

  private pump(): void {
    if (this.closed) return;
    for (;;) {
      const room = Math.min(this.options.maxQueuedFrames - this.queue.length, this.options.maxInFlight - this.inFlight);
      if (room > 0) {
        for (const job of this.session.takeJobs(room)) this.render(job);
      }
      const done = this.session.finishIfDone(this.options.now());
      if (!done) break;
      this.push({ type: "speech-ended", startPts: done.startPts, endPts: done.endPts, interrupted: false });
      if (this.playbackReported) {
        this.awaitingPlayback.push(done);
        this.releasePlayback();
      } else {
        this.push({ type: "playback-finished", position: done.endPts - done.startPts, interrupted: false });
      }
      if (done.next === undefined) break;
      this.push({ type: "speech-started", pts: done.next });
    }
    if (this.closeWhenDrained && !this.session.speaking && this.inFlight === 0) {
      this.closeWhenDrained = false;
      this.close();
    }
    this.scheduleIdle();
  }

  private releasePlayback(): void {
    while (this.awaitingPlayback.length && this.playbackPts >= this.awaitingPlayback[0]!.endPts) {
      const b = this.awaitingPlayback.shift()!;
      this.push({ type: "playback-finished", position: b.endPts - b.startPts, interrupted: false });
    }
  }

  /** A window slot's feature: an encoded frame of the current utterance, or padding. */
  private feature(slot: number): Promise<Float32Array | undefined> {
    if (slot === SILENCE) return Promise.resolve(this.avatar.silenceFeature);
    if (slot < 0) return Promise.resolve(undefined);
    return this.features.get(slot) ?? Promise.reject(new Error(`missing feature of frame ${slot}`));
  }

  private render(job: FrameJob): void {
    const started = this.options.now();
    const generation = this.generation;
    const signal = this.work.signal;
    const { window, featureDim } = this.avatar.manifest.model.audio;
    const deadline = this.options.maxLatencyMs === undefined ? job.dueAt + 1000 : job.dueAt + this.options.maxLatencyMs;
    if (job.segment !== this.featuresSegment) {
      this.features.clear();
      this.featuresSegment = job.segment;
    }
    // Each frame's encoder input comes once, with the first job whose window reaches it. Every
    // feature is computed, even for a frame dropped late: the next frames' windows read it.
    for (const { frame, input } of job.inputs) {
      const feature = this.avatar.model.encode(input, { deadline, signal }).then((r) => r.value);
      feature.catch(() => undefined);
      this.features.set(frame, feature);
    }
    const context = Promise.all(windowSlots(window, job.frame, job.count).map((slot) => this.feature(slot)));
    context.catch(() => undefined);
    // No later frame's window reaches back past its own first slot.
    for (const k of [...this.features.keys()]) if (k < job.frame + 1 + window.first) this.features.delete(k);
    if (this.options.maxLatencyMs !== undefined && this.options.now() > deadline) {
      this.queue.push(settledEntry(generation, true, { kind: "dropped", pts: job.pts }));
      this.wake.resolve();
      return;
    }
    this.inFlight++;
    const value = context
      .then((features) => {
        const audio = layWindow(features, featureDim, new Float32Array(windowLength(window) * featureDim));
        return renderFrame(this.avatar, {
          index: job.sourceIndex, audio, encoding: this.options.encoding, quality: this.options.quality, patch: this.options.patch, startedAt: started,
          schedule: { deadline, droppable: this.options.maxLatencyMs !== undefined, signal },
        });
      })
      .then((r): Settled => {
        // Finished past the bound (compositing or encoding queued behind other work): as useless
        // to a real-time player as a frame never rendered, and sending it would only add delay.
        if (this.options.maxLatencyMs !== undefined && this.options.now() > deadline) return { kind: "dropped", pts: job.pts };
        if (generation === this.generation) this.options.onRendered?.(r.timings);
        return {
          kind: "output",
          output: {
            type: "frame",
            frame: { image: r.image, patch: r.patch, encoding: this.options.encoding, width: r.width, height: r.height, sourceIndex: job.sourceIndex, pts: job.pts, kind: "speech", mouthRect: r.mouthRect, timings: r.timings },
          },
        };
      }, (err: unknown): Settled => {
        const e = asLipSyncError(err);
        if (e.code === "cancelled" || generation !== this.generation) return { kind: "skip" };
        if (e.code === "deadline_exceeded" && e.message === DROPPED) return { kind: "dropped", pts: job.pts };
        return { kind: "error", error: e };
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
    let cancel!: () => void;
    const settled = new Promise<Settled>((resolve) => {
      cancel = () => resolve({ kind: "skip" });
      void value.then(resolve);
    });
    this.queue.push({ generation, speech: true, settled, cancel });
    this.wake.resolve();
  }

  private scheduleIdle(): void {
    if (this.closed || !this.options.continuous) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const emit = () => {
      for (let due = this.session.idleDue(this.options.now()); due; due = this.session.idleDue(this.options.now())) {
        // Backpressure: idle frames are the first to go.
        if (this.queue.length >= this.options.maxQueuedFrames) continue;
        const { width, height } = this.avatar.manifest;
        this.push({
          type: "frame",
          frame: { image: this.avatar.sourceJpegs[due.sourceIndex]!, patch: false, encoding: "jpeg", width, height, sourceIndex: due.sourceIndex, pts: due.pts, kind: "idle", mouthRect: undefined, timings: undefined },
        });
      }
    };
    emit();
    const at = this.session.nextIdleAt();
    if (at === undefined) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.scheduleIdle();
    }, Math.max(1, at - this.options.now()));
  }
}
