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
 * A frame's job is handed out once its own samples and its whole audio window have arrived: the
 * encoder inputs of frames up to j + window.last (the front end's lookahead on top), or the
 * utterance has ended. Each encoder input is handed out once, with the first job that needs it.
 */
import { framesForSamples, SAMPLE_RATE } from "../audio/constants.js";
import { openInputs } from "../audio/frontends/inputs.js";
import type { EncoderInputStream, FrontEndSpec, WindowSpec } from "../audio/frontends/types.js";
import { Resampler } from "../audio/resampler.js";

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
}

export interface SegmentBounds {
  segment: number;
  startPts: number;
  endPts: number;
}

interface Segment {
  id: number;
  startPts: number;
  resampler: Resampler;
  inputs: EncoderInputStream;
  /** 16 kHz samples received. */
  samples: number;
  /** Next frame index to hand out as a job. */
  nextFrame: number;
  /** Next frame whose encoder input has not been handed out. */
  nextInput: number;
  ended: boolean;
}

export interface SessionSettings {
  /** Source frames in the avatar's idle footage. */
  frameCount: number;
  /** 16 kHz samples per video frame (the avatar's fps). */
  samplesPerFrame: number;
  frontEnd: FrontEndSpec;
  window: WindowSpec;
  /** Sample rate of the audio pushed. */
  inputRate: number;
  /** Emit paced idle frames between utterances. */
  continuous: boolean;
}

/** Ping-pong walk over the idle footage: 0, 1, .., n-1, n-2, .., 1, 0, 1, .. */
export function idleIndex(step: number, frameCount: number): number {
  if (frameCount <= 1) return 0;
  const period = 2 * (frameCount - 1);
  const p = ((step % period) + period) % period;
  return p < frameCount ? p : period - p;
}

export class SpeechSession {
  readonly settings: SessionSettings;
  private segment: Segment | undefined;
  private segmentCount = 0;
  /** pts of the next frame the clock will produce (speech or idle). */
  private nextPts = 0;
  /** Idle pacing anchor: pts `anchorPts` is due at wall time `anchorMs`. */
  private anchorMs: number;
  private anchorPts = 0;
  private readonly startMs: number;

  private readonly spf: number;

  constructor(settings: SessionSettings, now: number) {
    if (settings.frontEnd.kind === "none") throw new Error("a speech session needs a live audio front end");
    this.settings = settings;
    this.spf = settings.samplesPerFrame;
    this.startMs = now;
    this.anchorMs = now;
  }

  /** Whether an utterance is in progress (audio received, not ended or cleared). */
  get speaking(): boolean {
    return this.segment !== undefined;
  }

  /** 16 kHz samples received for the current utterance and not yet turned into jobs. */
  get queuedSamples(): number {
    const s = this.segment;
    return s ? Math.max(0, s.samples - s.nextFrame * this.spf) : 0;
  }

  /**
   * Audio of the current utterance (mono, at the input rate). Returns the pts of the new
   * utterance's first frame if this audio started one.
   */
  pushAudio(samples: Float32Array, now: number): number | undefined {
    let started: number | undefined;
    if (!this.segment) {
      started = this.startSegment(now);
    }
    const s = this.segment!;
    if (s.ended) throw new Error("segment already ended");
    this.feed(s, s.resampler.push(samples));
    return started;
  }

  /** End of the current utterance: its tail becomes frames. No-op when silent. */
  end(): void {
    const s = this.segment;
    if (!s || s.ended) return;
    this.feed(s, s.resampler.flush());
    s.inputs.end();
    s.ended = true;
  }

  /** Render jobs of the current utterance that have all the audio they need, in order. */
  takeJobs(max: number): FrameJob[] {
    const s = this.segment;
    const jobs: FrameJob[] = [];
    if (!s) return jobs;
    const total = s.ended ? framesForSamples(s.samples, this.spf) : Number.POSITIVE_INFINITY;
    while (jobs.length < max && s.nextFrame < total) {
      const j = s.nextFrame;
      // A frame needs its own samples and the encoder inputs of its window's last frame.
      if (!s.ended && s.samples < (j + 1) * this.spf) break;
      const lastInput = Math.min(j + this.settings.window.last, total - 1);
      let ready = true;
      for (let k = s.nextInput; k <= lastInput && ready; k++) ready = s.inputs.ready(k);
      if (!ready) break;
      const inputs: FrameJob["inputs"] = [];
      for (; s.nextInput <= lastInput; s.nextInput++) inputs.push({ frame: s.nextInput, input: s.inputs.input(s.nextInput) });
      const pts = s.startPts + j * this.spf;
      jobs.push({ segment: s.id, frame: j, pts, sourceIndex: idleIndex(pts / this.spf, this.settings.frameCount), inputs, count: s.ended ? total : undefined });
      s.nextFrame++;
      s.inputs.discardBefore(s.nextInput);
    }
    return jobs;
  }

  /**
   * Once the utterance has ended and every job was taken: its bounds, and the session returns
   * to idle. Otherwise undefined.
   */
  finishIfDone(now: number): SegmentBounds | undefined {
    const s = this.segment;
    if (!s || !s.ended || s.nextFrame < framesForSamples(s.samples, this.spf)) return undefined;
    const endPts = s.startPts + s.nextFrame * this.spf;
    this.segment = undefined;
    this.nextPts = endPts;
    this.reanchor(now, endPts);
    return { segment: s.id, startPts: s.startPts, endPts };
  }

  /**
   * Barge-in: drop queued audio and unrendered frames. `sentEndPts` is the pts just past the
   * last frame the transport actually sent; the clock resumes there, at once.
   */
  clear(sentEndPts: number, now: number): SegmentBounds | undefined {
    const s = this.segment;
    if (!s) return undefined;
    this.segment = undefined;
    const endPts = Math.max(s.startPts, Math.min(sentEndPts, s.startPts + s.nextFrame * this.spf));
    this.nextPts = endPts;
    this.reanchor(now, endPts);
    return { segment: s.id, startPts: s.startPts, endPts };
  }

  /**
   * In continuous mode with no utterance: the pts of the idle frame due now, advancing the
   * clock, or undefined. A consumer that fell more than two frames behind skips ahead instead
   * of receiving a burst.
   */
  idleDue(now: number): { pts: number; sourceIndex: number } | undefined {
    if (!this.settings.continuous || this.segment) return undefined;
    if (now < this.dueMs(this.nextPts)) return undefined;
    const frameMs = (this.spf / SAMPLE_RATE) * 1000;
    if (now - this.dueMs(this.nextPts) > 2 * frameMs) {
      const behind = Math.floor((now - this.dueMs(this.nextPts)) / frameMs);
      this.nextPts += behind * this.spf;
      this.reanchor(now, this.nextPts);
    }
    const pts = this.nextPts;
    this.nextPts += this.spf;
    return { pts, sourceIndex: idleIndex(pts / this.spf, this.settings.frameCount) };
  }

  /** Wall time (ms) at which the next idle frame is due, for the driver's timer. */
  nextIdleAt(): number | undefined {
    if (!this.settings.continuous || this.segment) return undefined;
    return this.dueMs(this.nextPts);
  }

  private dueMs(pts: number): number {
    return this.anchorMs + ((pts - this.anchorPts) / SAMPLE_RATE) * 1000;
  }

  private reanchor(now: number, pts: number): void {
    this.anchorMs = now;
    this.anchorPts = pts;
  }

  private startSegment(now: number): number {
    // Continuous: speech takes the next slot of the stream. Otherwise the clock has run on in
    // real time since the last utterance (the player's idle loop did), never backwards.
    let start = this.nextPts;
    if (!this.settings.continuous) {
      const wallPts = ((now - this.startMs) / 1000) * SAMPLE_RATE;
      start = Math.max(start, Math.ceil(wallPts / this.spf) * this.spf);
    }
    this.segment = {
      id: ++this.segmentCount,
      startPts: start,
      resampler: new Resampler(this.settings.inputRate, SAMPLE_RATE),
      inputs: openInputs(this.settings.frontEnd, this.spf)!,
      samples: 0,
      nextFrame: 0,
      nextInput: 0,
      ended: false,
    };
    return start;
  }

  private feed(s: Segment, samples: Float32Array): void {
    if (samples.length === 0) return;
    s.samples += samples.length;
    s.inputs.push(samples);
  }
}
