/**
 * The recent part of a sample stream, indexed by absolute sample number. Streaming stages
 * (resampler, mel) append what arrives and discard what no future output can read, so memory
 * stays bounded however long the stream runs. Samples outside the window read as 0.
 */
export class SampleWindow {
  private buffer = new Float64Array(4096);
  private length = 0;
  /** Absolute index of buffer[0]. */
  private start = 0;

  /** Absolute index one past the last sample appended. */
  get end(): number {
    return this.start + this.length;
  }

  append(samples: ArrayLike<number>): void {
    if (this.length + samples.length > this.buffer.length) {
      const grown = new Float64Array(Math.max(this.buffer.length * 2, this.length + samples.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(samples, this.length);
    this.length += samples.length;
  }

  /** Forgets samples before absolute index `index`. */
  discardBefore(index: number): void {
    const drop = Math.min(index - this.start, this.length);
    if (drop <= 0) return;
    this.buffer.copyWithin(0, drop, this.length);
    this.length -= drop;
    this.start += drop;
  }

  /** sum_i weights[i] * at(start + i), the inner loop of a filter: direct reads when inside. */
  dot(start: number, weights: Float64Array): number {
    const i0 = start - this.start;
    const n = weights.length;
    let acc = 0;
    if (i0 >= 0 && i0 + n <= this.length) {
      const b = this.buffer;
      for (let i = 0; i < n; i++) acc += weights[i]! * b[i0 + i]!;
      return acc;
    }
    for (let i = 0; i < n; i++) acc += weights[i]! * this.at(start + i);
    return acc;
  }

  /** Sample at absolute index `index`, or 0 outside the window. */
  at(index: number): number {
    const i = index - this.start;
    return i >= 0 && i < this.length ? this.buffer[i]! : 0;
  }
}
