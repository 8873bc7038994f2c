/**
 * Drives a SpeechSession against the engine: turns its jobs into rendered frames (batched with
 * every other session of the avatar), keeps outputs in pts order, paces idle frames, and bounds
 * every queue. Transports feed it commands and read `SessionOutput`s from its async iterator;
 * it imports no transport.
 *
 * Backpressure: at most `maxQueuedFrames` outputs wait for the consumer. When that fills, idle
 * frames are skipped (the clock moves on) and no more speech frames are rendered, so audio
 * accumulates in the session; past `maxQueuedSeconds` of it, pushAudio fails with
 * RESOURCE_EXHAUSTED. Speech frames are never dropped silently.
 */
import { SAMPLE_RATE } from "../audio/constants.js";
import { layWindow, SILENCE, windowLength, windowSlots } from "../audio/frontends/feature-window.js";
import type { Avatar } from "../avatar/avatar.js";
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
  | { type: "playback-finished"; position: number; interrupted: boolean };

export interface RunnerOptions {
  continuous: boolean;
  inputRate: number;
  encoding: ImageEncoding;
  quality: number;
  /** Speech frames as mouth patches. */
  patch?: boolean;
  maxQueuedFrames: number;
  maxQueuedSeconds: number;
  /** Frames of one session in the engine at once. */
  maxInFlight?: number;
  /** Called with the timings of every rendered speech frame (metrics). */
  onRendered?: (timings: StageTimings) => void;
  now?: () => number;
}

interface Entry {
  generation: number;
  speech: boolean;
  value: Promise<SessionOutput>;
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

export class SessionRunner implements AsyncIterable<SessionOutput> {
  readonly session: SpeechSession;
  private readonly avatar: Avatar;
  private readonly options: Required<Omit<RunnerOptions, "onRendered" | "patch">> & Pick<RunnerOptions, "onRendered" | "patch">;
  private queue: Entry[] = [];
  private wake = deferred();
  private cleared = deferred();
  private generation = 0;
  private features = new Map<number, Promise<Float32Array>>();
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

  /** Mono samples at the configured input rate. */
  pushAudio(samples: Float32Array): void {
    this.checkOpen();
    const queuedSeconds = (this.session.queuedSamples + (samples.length * SAMPLE_RATE) / this.options.inputRate) / SAMPLE_RATE;
    if (queuedSeconds > this.options.maxQueuedSeconds) {
      throw new LipSyncError("resource_exhausted", `more than ${this.options.maxQueuedSeconds} s of audio queued: the consumer is not reading frames fast enough`);
    }
    const started = this.session.pushAudio(samples, this.options.now());
    if (started !== undefined) this.push({ type: "speech-started", pts: started }, false);
    this.pump();
  }

  end(): void {
    this.checkOpen();
    this.session.end();
    this.pump();
  }

  /** Barge-in: unsent speech frames are dropped and the idle stream resumes at once. */
  clear(): void {
    this.checkOpen();
    this.generation++;
    this.queue = this.queue.filter((e) => !e.speech);
    this.features.clear();
    this.cleared.resolve();
    this.cleared = deferred();
    const bounds = this.session.clear(this.sentEndPts, this.options.now());
    if (bounds) {
      this.push({ type: "speech-ended", startPts: bounds.startPts, endPts: bounds.endPts, interrupted: true }, false);
      const played = this.playbackReported ? this.playbackPts : bounds.endPts;
      const position = Math.max(0, Math.min(bounds.endPts, played) - bounds.startPts);
      this.push({ type: "playback-finished", position, interrupted: true }, false);
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
    if (error) this.queue = [];
    this.wake.resolve();
  }

  /** The consumer is gone (cancelled call, closed socket): drop everything at once. */
  abort(): void {
    this.close();
    this.queue = [];
    this.cleared.resolve();
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
        if (this.closed) {
          if (this.failure) throw this.failure;
          return;
        }
        await this.wake.promise;
        this.wake = deferred();
        continue;
      }
      let value: SessionOutput | undefined;
      const cleared = this.cleared.promise;
      try {
        value = await Promise.race([head.value, cleared.then(() => undefined)]);
      } catch (err) {
        const e = asLipSyncError(err);
        this.close(e);
        throw e;
      }
      if (this.queue[0] !== head) continue; // dropped by a clear while we waited
      this.queue.shift();
      if (value === undefined || (head.speech && head.generation !== this.generation)) continue;
      if (value.type === "frame") this.sentEndPts = value.frame.pts + this.avatar.samplesPerFrame;
      this.pump();
      yield value;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw this.failure ?? new LipSyncError("failed_precondition", "session is closed");
  }

  private push(output: SessionOutput, speech: boolean): void {
    this.queue.push({ generation: this.generation, speech, value: Promise.resolve(output) });
    this.wake.resolve();
  }

  private pump(): void {
    if (this.closed) return;
    const room = Math.min(this.options.maxQueuedFrames - this.queue.length, this.options.maxInFlight - this.inFlight);
    if (room > 0) {
      for (const job of this.session.takeJobs(room)) this.render(job);
    }
    const done = this.session.finishIfDone(this.options.now());
    if (done) {
      this.push({ type: "speech-ended", startPts: done.startPts, endPts: done.endPts, interrupted: false }, false);
      if (this.playbackReported) {
        this.awaitingPlayback.push(done);
        this.releasePlayback();
      } else {
        this.push({ type: "playback-finished", position: done.endPts - done.startPts, interrupted: false }, false);
      }
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
      this.push({ type: "playback-finished", position: b.endPts - b.startPts, interrupted: false }, false);
    }
  }

  /** A window slot's feature: an encoded frame of this utterance, or padding. */
  private feature(slot: number): Promise<Float32Array | undefined> {
    if (slot === SILENCE) return Promise.resolve(this.avatar.silenceFeature);
    if (slot < 0) return Promise.resolve(undefined);
    return this.features.get(slot) ?? Promise.reject(new Error(`missing feature of frame ${slot}`));
  }

  private render(job: FrameJob): void {
    const started = this.options.now();
    const generation = this.generation;
    const { window, featureDim } = this.avatar.manifest.model.audio;
    // Each frame's encoder input comes once, with the first job whose window reaches it.
    for (const { frame, input } of job.inputs) this.features.set(frame, this.avatar.model.encode(input).then((r) => r.value));
    const context = Promise.all(windowSlots(window, job.frame, job.count).map((slot) => this.feature(slot)));
    // No later frame's window reaches back past its own first slot.
    for (const k of [...this.features.keys()]) if (k < job.frame + 1 + window.first) this.features.delete(k);
    this.inFlight++;
    const value = context
      .then((features) => {
        const audio = layWindow(features, featureDim, new Float32Array(windowLength(window) * featureDim));
        return renderFrame(this.avatar, { index: job.sourceIndex, audio, encoding: this.options.encoding, quality: this.options.quality, patch: this.options.patch, startedAt: started });
      })
      .then((r): SessionOutput => {
        if (generation === this.generation) this.options.onRendered?.(r.timings);
        return {
          type: "frame",
          frame: { image: r.image, patch: r.patch, encoding: this.options.encoding, width: r.width, height: r.height, sourceIndex: job.sourceIndex, pts: job.pts, kind: "speech", mouthRect: r.mouthRect, timings: r.timings },
        };
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
    // Failures surface through the iterator; this keeps them from being unhandled meanwhile.
    value.catch(() => undefined);
    this.queue.push({ generation, speech: true, value });
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
        }, false);
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
