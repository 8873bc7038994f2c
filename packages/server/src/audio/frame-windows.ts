/**
 * The mel window of each video frame of one speech segment, in the encoder's layout
 * [n_mels][window_frames] (row-major). Where a window sits is the `MelTiming`; mel frames outside
 * the segment are silence (-max_abs), matching training/mel.py's frame_windows, unless the
 * timing clamps windows inside the segment (SyncTalk_2D).
 */
import { defaultMelTiming, melWindowStart, type MelConfig, type MelTiming } from "./constants.js";

export class FrameWindows {
  /** Mel frames from absolute index `offset` (older ones are discarded once rendered). */
  private mels: Float32Array[] = [];
  private offset = 0;
  private ended = false;
  readonly config: MelConfig;
  readonly timing: MelTiming;

  constructor(config: MelConfig, timing: MelTiming = defaultMelTiming(config)) {
    this.config = config;
    this.timing = timing;
  }

  add(frames: Float32Array[]): void {
    for (const f of frames) this.mels.push(f);
  }

  /** No more mel frames will come: windows may now read silence past the end. */
  end(): void {
    this.ended = true;
  }

  /** Whether video frame `frame`'s window can be built now. */
  ready(frame: number): boolean {
    if (this.ended) return true;
    return this.start(frame) + this.config.windowFrames <= this.length;
  }

  /** Forget mel frames no window from video frame `frame` on will read. */
  discardBefore(frame: number): void {
    // A clamped window may reach back from the end by up to a window's length.
    const keep = this.start(frame) - (this.timing.edge === "clamp" ? this.config.windowFrames : 0);
    const drop = Math.min(this.mels.length, keep - this.offset);
    if (drop > 256) {
      this.mels = this.mels.slice(drop);
      this.offset += drop;
    }
  }

  /** Video frame `frame`'s window into `out` (length n_mels * window_frames). */
  window(frame: number, out = new Float32Array(this.config.nMels * this.config.windowFrames)): Float32Array {
    const { nMels, windowFrames, maxAbsValue } = this.config;
    const start = this.start(frame);
    for (let t = 0; t < windowFrames; t++) {
      const mel = this.mels[start + t - this.offset];
      for (let b = 0; b < nMels; b++) out[b * windowFrames + t] = mel ? mel[b]! : -maxAbsValue;
    }
    return out;
  }

  /** Mel frames received. */
  get length(): number {
    return this.offset + this.mels.length;
  }

  /** First mel frame of `frame`'s window, clamped inside the segment when the timing says so. */
  private start(frame: number): number {
    let start = melWindowStart(this.config, frame, this.timing);
    if (this.timing.edge === "clamp") {
      // Past the end only once the end is known; a window never starts before mel frame 0.
      if (this.ended) start = Math.min(start, this.length - this.config.windowFrames);
      start = Math.max(0, start);
    }
    return start;
  }
}

/** A window of pure silence: the encoder input for frames before a segment starts. */
export function silenceWindow(config: MelConfig): Float32Array {
  return new Float32Array(config.nMels * config.windowFrames).fill(-config.maxAbsValue);
}
