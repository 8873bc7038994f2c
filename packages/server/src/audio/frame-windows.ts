/**
 * The mel window of each video frame of one speech segment, in the encoder's layout
 * [n_mels][window_frames] (row-major). Mel frames outside the segment are silence
 * (-max_abs), matching training/mel.py's frame_windows.
 */
import { melWindowStart, type MelConfig } from "./constants.js";

export class FrameWindows {
  /** Mel frames from absolute index `offset` (older ones are discarded once rendered). */
  private mels: Float32Array[] = [];
  private offset = 0;
  private ended = false;
  readonly config: MelConfig;

  constructor(config: MelConfig) {
    this.config = config;
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
    return melWindowStart(this.config, frame) + this.config.windowFrames <= this.length;
  }

  /** Forget mel frames no window from video frame `frame` on will read. */
  discardBefore(frame: number): void {
    const drop = Math.min(this.mels.length, melWindowStart(this.config, frame) - this.offset);
    if (drop > 256) {
      this.mels = this.mels.slice(drop);
      this.offset += drop;
    }
  }

  /** Video frame `frame`'s window into `out` (length n_mels * window_frames). */
  window(frame: number, out = new Float32Array(this.config.nMels * this.config.windowFrames)): Float32Array {
    const { nMels, windowFrames, maxAbsValue } = this.config;
    const start = melWindowStart(this.config, frame);
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
}

/** A window of pure silence: the encoder input for frames before a segment starts. */
export function silenceWindow(config: MelConfig): Float32Array {
  return new Float32Array(config.nMels * config.windowFrames).fill(-config.maxAbsValue);
}
