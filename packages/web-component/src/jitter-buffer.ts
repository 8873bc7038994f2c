/**
 * Frames waiting for their moment. Keyed by pts; `take(pts)` returns the frame due at `pts` and
 * discards any older one (a late frame is skipped, never shown out of order). The playout delay
 * is sized from measured arrival jitter: how much later than its due time, relative to the best
 * frame seen, each frame arrived.
 */
import { DEFAULT_SAMPLES_PER_FRAME } from "./clock.js";
import { Series } from "./perf.js";

export interface Buffered<T> {
  pts: number;
  value: T;
}

export class JitterBuffer<T> {
  private frames: Buffered<T>[] = [];
  /** Last pts handed out: anything at or before it is late. */
  private lastTaken = Number.NEGATIVE_INFINITY;
  skipped = 0;
  late = 0;
  /** A frame covers pts .. pts + samplesPerFrame (the avatar's, once known). */
  samplesPerFrame = DEFAULT_SAMPLES_PER_FRAME;

  /** Adds a frame; returns false (and drops it) if its moment has already passed. */
  push(pts: number, value: T): boolean {
    if (pts <= this.lastTaken) {
      this.late++;
      return false;
    }
    let i = this.frames.length;
    while (i > 0 && this.frames[i - 1]!.pts > pts) i--;
    if (i > 0 && this.frames[i - 1]!.pts === pts) return false;
    this.frames.splice(i, 0, { pts, value });
    return true;
  }

  /**
   * The frame covering `pts` (its pts <= pts < its pts + samplesPerFrame), if present. Older frames are
   * dropped and counted as skipped; newer ones stay.
   */
  take(pts: number): Buffered<T> | undefined {
    let found: Buffered<T> | undefined;
    while (this.frames.length && this.frames[0]!.pts <= pts) {
      const f = this.frames.shift()!;
      if (f.pts + this.samplesPerFrame > pts) found = f;
      else this.skipped++;
    }
    if (found) this.lastTaken = found.pts;
    return found;
  }

  /** Frames waiting. */
  get depth(): number {
    return this.frames.length;
  }

  /** pts of the earliest waiting frame. */
  get head(): number | undefined {
    return this.frames[0]?.pts;
  }

  /** Everything dropped (barge-in); frames after `pts` may be accepted again. */
  clear(resumeAfter = Number.NEGATIVE_INFINITY): Buffered<T>[] {
    const dropped = this.frames;
    this.frames = [];
    this.lastTaken = resumeAfter;
    return dropped;
  }
}

/**
 * Arrival jitter: how much later than a real-time schedule started by an utterance's first
 * frame each later frame arrived. Frames that arrive early (a clip rendered faster than real
 * time) need no buffer; late ones set the playout delay.
 */
export class JitterEstimator {
  private readonly lateness: Series;

  constructor(window = 200) {
    this.lateness = new Series(window);
  }

  /** Seconds frame k arrived after (first arrival + its pts offset); negative is early. */
  add(lateness: number): void {
    this.lateness.add(lateness);
  }

  /** The 95th percentile of recent lateness, seconds (0 if frames keep up). */
  get jitter(): number {
    return Math.max(0, this.lateness.percentile(0.95));
  }

  /** Playout delay for a new utterance: the jitter with margin, within [min, max] seconds. */
  delay(min = 0.04, max = 0.4): number {
    return Math.min(max, Math.max(min, this.jitter * 1.25 + 0.01));
  }

  reset(): void {
    this.lateness.clear();
  }
}
