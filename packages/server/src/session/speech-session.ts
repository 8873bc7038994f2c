/**
 * The state of one speech session, Sans-I/O: audio samples and commands go in, render jobs and
 * idle-frame decisions come out. No sockets, no timers, no model: time is passed in (`now`, ms),
 * so every rule here is testable with plain calls.
 *
 * The session clock counts samples at 16 kHz from the session start; a frame's pts is the first
 * sample it shows, always a multiple of the avatar's samples per frame (spf: 640 at 25 fps, 800
 * at 20). An utterance (segment) starts at a frame boundary and its N resampled samples become
 * exactly ceil(N / spf) frames, pts stepping by spf, so audio and video cannot drift. The idle
 * loop is a ping-pong walk indexed by pts / spf: a player that loops idle frames on the same
 * clock is already showing the frame speech starts from, so there is no jump.
 *
 * A frame is complete once its own samples and its whole audio window have arrived: the encoder
 * inputs of frames up to j + window.last (the front end's lookahead on top), or the utterance
 * has ended. Each encoder input is handed out once, with the first job that needs it.
 */
import { framesForSamples, idleIndex, SAMPLE_RATE } from "../audio/constants.js";
import { LocalFrontEnd, resampledLength, type FrontEnd, type FrontEndUpdate, type UpdateListener } from "../audio/frontends/host.js";
import type { FrontEndSpec, WindowSpec } from "../audio/frontends/types.js";

export interface FrameJob {
  segment: number;
  /** Frame index within the segment. */
  frame: number;
  pts: number;
  sourceIndex: number;
  /** Encoder inputs of frames not handed out before (this frame's window needs them). */
  inputs: { frame: number; input: Float32Array }[];
  /** The utterance's frame count once it has ended (window slots past it are padding). */
  count: number | undefined;
  /**
   * Wall time (ms, the session's clock) from which the frame is wanted: when its audio was
   * complete, or its real-time slot after the utterance's first frame, whichever is later. A
   * client streaming in real time waits on the first; a TTS running ahead on the second.
   */
  dueAt: number;
}

export interface SegmentBounds {
  segment: number;
  startPts: number;
  endPts: number;
  /** pts of the next utterance, when one was queued behind this one and now begins. */
  next: number | undefined;
}

interface Segment {
  id: number;
  /** The utterance's key in the front end (unique in the process: front ends are shared). */
  key: number;
  startPts: number;
  /** Rate of the audio pushed, and its samples pushed so far. */
  inputRate: number;
  inputSamples: number;
  /** 16 kHz samples the front end has processed (final once `ended`). */
  samples: number;
  /** Encoder inputs received and not yet handed out, from frame `receivedFrom`. */
  received: Float32Array[];
  receivedFrom: number;
  /** Frames of the utterance, known once `end` is called. */
  total: number | undefined;
  /** Next frame index to hand out as a job. */
  nextFrame: number;
  /** Next frame whose encoder input has not been handed out. */
  nextInput: number;
  /** Frames whose audio is complete, and the wall time each became so (from nextFrame on). */
  readyCount: number;
  readyAt: number[];
  /** Wall time frame 0 became ready: the anchor of the real-time slots. */
  firstReadyAt: number | undefined;
  /** `end` was called; `ended`: the front end has since delivered every input. */
  endRequested: boolean;
  ended: boolean;
}

/** Front-end keys, unique across sessions. */
let nextKey = 1;

export interface SessionSettings {
  /** Source frames in the avatar's idle footage. */
  frameCount: number;
  /** 16 kHz samples per video frame (the avatar's fps). */
  samplesPerFrame: number;
  frontEnd: FrontEndSpec;
  window: WindowSpec;
  /** Sample rate of the audio pushed (setInputRate changes it for utterances to come). */
  inputRate: number;
  /** Emit paced idle frames between utterances. */
  continuous: boolean;
}

export { idleIndex };

/** Makes the front end a session computes its audio on, given the listener for its updates. */
export type FrontEndFactory = (listener: UpdateListener) => FrontEnd;

export class SpeechSession {
  readonly settings: SessionSettings;
  private readonly frontEnd: FrontEnd;
  /** Called when a front-end update arrives between calls (a worker's): new jobs may be ready. */
  onUpdate: (() => void) | undefined;
  private inCall = false;
  /** The `now` of the call in progress, the time of updates it delivers. */
  private callNow = 0;
  /** Utterances: [0] is being rendered; audio after its end queues the next one behind it. */
  private segments: Segment[] = [];
  private segmentCount = 0;
  /** pts of the next frame the clock will produce (speech or idle). */
  private nextPts = 0;
  /** Idle pacing anchor: pts `anchorPts` is due at wall time `anchorMs`. */
  private anchorMs: number;
  private anchorPts = 0;
  private readonly startMs: number;
  private inputRate: number;
  /** Samples and milliseconds of one video frame. */
  private readonly spf: number;
  private readonly frameMs: number;

  constructor(settings: SessionSettings, now: number, frontEnd: FrontEndFactory = (l) => new LocalFrontEnd(l), private readonly clock: () => number = () => performance.now()) {
    if (settings.frontEnd.kind === "none") throw new Error("a speech session needs a live audio front end");
    this.settings = settings;
    this.frontEnd = frontEnd((key, update) => this.apply(key, update));
    this.spf = settings.samplesPerFrame;
    this.frameMs = (this.spf / SAMPLE_RATE) * 1000;
    this.startMs = now;
    this.anchorMs = now;
    this.inputRate = settings.inputRate;
  }

  /** Whether an utterance is in progress (audio received, not ended or cleared). */
  get speaking(): boolean {
    return this.segments.length > 0;
  }

  /** Whether audio pushed now would continue an utterance (one is open: audio came, no `end` yet). */
  get open(): boolean {
    const s = this.segments.at(-1);
    return s !== undefined && !s.endRequested;
  }

  /** The input rate of utterances that start from now on (the open one keeps its own). */
  setInputRate(rate: number): void {
    this.inputRate = rate;
  }

  /** 16 kHz samples received and not yet turned into jobs, over every queued utterance. */
  get queuedSamples(): number {
    let n = 0;
    for (const s of this.segments) n += Math.max(0, resampledLength(s.inputSamples, s.inputRate) - s.nextFrame * this.spf);
    return n;
  }

  /**
   * Audio (mono, at the input rate). It continues the open utterance; after `end` it starts the
   * next one, which follows the current one on the clock. Returns the pts of a new utterance's
   * first frame if this audio started one that is current at once (a queued one is announced by
   * `finishIfDone` when it begins).
   */
  pushAudio(samples: Float32Array, now: number): number | undefined {
    let s = this.segments.at(-1);
    let started: number | undefined;
    if (!s || s.endRequested) {
      s = this.startSegment(now);
      if (this.segments.length === 1) started = s.startPts;
    }
    if (samples.length === 0) return started;
    s.inputSamples += samples.length;
    this.call(now, () => this.frontEnd.push(s.key, samples));
    return started;
  }

  /** End of the open utterance: its tail becomes frames. No-op when none is open. */
  end(now: number): void {
    const s = this.segments.at(-1);
    if (!s || s.endRequested) return;
    s.endRequested = true;
    s.total = framesForSamples(resampledLength(s.inputSamples, s.inputRate), this.spf);
    this.call(now, () => this.frontEnd.end(s.key));
  }

  /** The session is over: the front end forgets its utterances. */
  close(): void {
    for (const s of this.segments) this.frontEnd.drop(s.key);
    this.segments = [];
  }

  /** Render jobs of the current utterance that have all the audio they need, in order. */
  takeJobs(max: number): FrameJob[] {
    const s = this.segments[0];
    const jobs: FrameJob[] = [];
    if (!s) return jobs;
    const total = s.ended ? s.total! : Number.POSITIVE_INFINITY;
    while (jobs.length < max && s.nextFrame < s.readyCount) {
      const j = s.nextFrame;
      const pts = s.startPts + j * this.spf;
      const readyAt = s.readyAt.shift()!;
      const inputs: FrameJob["inputs"] = [];
      for (const last = Math.min(j + this.settings.window.last, total - 1); s.nextInput <= last; s.nextInput++) {
        inputs.push({ frame: s.nextInput, input: s.received.shift()! });
        s.receivedFrom++;
      }
      jobs.push({
        segment: s.id, frame: j, pts, sourceIndex: idleIndex(pts / this.spf, this.settings.frameCount), inputs, count: s.ended ? total : undefined,
        dueAt: Math.max(readyAt, s.firstReadyAt! + j * this.frameMs),
      });
      s.nextFrame++;
    }
    return jobs;
  }

  /**
   * Once the current utterance has ended and every job was taken: its bounds, and the session
   * moves on to the next queued utterance, or to idle. Otherwise undefined.
   */
  finishIfDone(now: number): SegmentBounds | undefined {
    const s = this.segments[0];
    if (!s || !s.ended || s.nextFrame < s.total!) return undefined;
    const endPts = s.startPts + s.nextFrame * this.spf;
    this.segments.shift();
    this.nextPts = endPts;
    this.reanchor(now, endPts);
    return { segment: s.id, startPts: s.startPts, endPts, next: this.segments[0]?.startPts };
  }

  /**
   * Barge-in: drop queued audio and unrendered frames, of queued utterances too. `sentEndPts`
   * is the pts just past the last frame the transport actually sent; the clock resumes there.
   */
  clear(sentEndPts: number, now: number): SegmentBounds | undefined {
    const s = this.segments[0];
    if (!s) return undefined;
    for (const x of this.segments) this.frontEnd.drop(x.key);
    this.segments = [];
    const endPts = Math.max(s.startPts, Math.min(sentEndPts, s.startPts + s.nextFrame * this.spf));
    this.nextPts = endPts;
    this.reanchor(now, endPts);
    return { segment: s.id, startPts: s.startPts, endPts, next: undefined };
  }

  /**
   * In continuous mode with no utterance: the pts of the idle frame due now, advancing the
   * clock, or undefined. A consumer that fell more than two frames behind skips ahead instead
   * of receiving a burst.
   */
  idleDue(now: number): { pts: number; sourceIndex: number } | undefined {
    if (!this.settings.continuous || this.speaking) return undefined;
    if (now < this.dueMs(this.nextPts)) return undefined;
    if (now - this.dueMs(this.nextPts) > 2 * this.frameMs) {
      const behind = Math.floor((now - this.dueMs(this.nextPts)) / this.frameMs);
      this.nextPts += behind * this.spf;
      this.reanchor(now, this.nextPts);
    }
    const pts = this.nextPts;
    this.nextPts += this.spf;
    return { pts, sourceIndex: idleIndex(pts / this.spf, this.settings.frameCount) };
  }

  /** Wall time (ms) at which the next idle frame is due, for the driver's timer. */
  nextIdleAt(): number | undefined {
    if (!this.settings.continuous || this.speaking) return undefined;
    return this.dueMs(this.nextPts);
  }

  private dueMs(pts: number): number {
    return this.anchorMs + ((pts - this.anchorPts) / SAMPLE_RATE) * 1000;
  }

  private reanchor(now: number, pts: number): void {
    this.anchorMs = now;
    this.anchorPts = pts;
  }

  private startSegment(now: number): Segment {
    // Speech follows the utterance before it, if one is still rendering, else takes the next
    // slot of the continuous stream. Without idle pacing the clock has run on in real time
    // since the last utterance (the player's idle loop did), never backwards.
    const prev = this.segments.at(-1);
    let start = prev ? prev.startPts + prev.total! * this.spf : this.nextPts;
    if (!this.settings.continuous) {
      const wallPts = ((now - this.startMs) / 1000) * SAMPLE_RATE;
      start = Math.max(start, Math.ceil(wallPts / this.spf) * this.spf);
    }
    const segment: Segment = {
      id: ++this.segmentCount,
      key: nextKey++,
      startPts: start,
      inputRate: this.inputRate,
      inputSamples: 0,
      samples: 0,
      received: [],
      receivedFrom: 0,
      total: undefined,
      nextFrame: 0,
      nextInput: 0,
      readyCount: 0,
      readyAt: [],
      firstReadyAt: undefined,
      endRequested: false,
      ended: false,
    };
    this.segments.push(segment);
    this.frontEnd.open(segment.key, { frontEnd: this.settings.frontEnd, samplesPerFrame: this.spf, inputRate: segment.inputRate });
    return segment;
  }

  /** Runs a front-end call; updates it delivers synchronously are the caller's to act on. */
  private call(now: number, fn: () => void): void {
    this.inCall = true;
    this.callNow = now;
    try {
      fn();
    } finally {
      this.inCall = false;
    }
  }

  /** A front-end update: samples processed and the inputs of frames that became ready. */
  private apply(key: number, u: FrontEndUpdate): void {
    const s = this.segments.find((x) => x.key === key);
    if (!s) return; // cleared meanwhile
    s.samples = u.samples;
    s.received.push(...u.inputs);
    if (u.ended) s.ended = true;
    this.markReady(s, this.inCall ? this.callNow : this.clock());
    if (!this.inCall) this.onUpdate?.();
  }

  /**
   * Records when frames became complete: their own samples, and the encoder input of their
   * window's last frame (inputs of earlier frames need no more audio than that one).
   */
  private markReady(s: Segment, now: number): void {
    const total = s.ended ? s.total! : Number.POSITIVE_INFINITY;
    const last = this.settings.window.last;
    const inputs = s.receivedFrom + s.received.length;
    while (s.readyCount < total && (s.ended || (s.samples >= (s.readyCount + 1) * this.spf && s.readyCount + last < inputs))) {
      s.readyAt.push(now);
      s.firstReadyAt ??= now;
      s.readyCount++;
    }
  }
}
