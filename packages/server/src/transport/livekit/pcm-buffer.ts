/**
 * The audio of one utterance, indexed by sample from its start: appended as the agent's stream
 * arrives, read by range (for the published track, and for the session), and forgotten once
 * both readers are past it, so a long utterance sent ahead of time holds only what is unplayed.
 */
export class PcmBuffer {
  private buffer = new Float32Array(4096);
  private length = 0;
  /** Absolute index of buffer[0]. */
  private start = 0;

  /** Samples appended so far (absolute index one past the last). */
  get end(): number {
    return this.start + this.length;
  }

  append(samples: Float32Array): void {
    if (this.length + samples.length > this.buffer.length) {
      const grown = new Float32Array(Math.max(this.buffer.length * 2, this.length + samples.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(samples, this.length);
    this.length += samples.length;
  }

  /** Samples [from, to) as a new array; what lies past the end (or was forgotten) reads as 0. */
  read(from: number, to: number): Float32Array {
    const out = new Float32Array(Math.max(0, to - from));
    const a = Math.max(from, this.start);
    const b = Math.min(to, this.end);
    if (b > a) out.set(this.buffer.subarray(a - this.start, b - this.start), a - from);
    return out;
  }

  /** Forgets samples before absolute index `index`. */
  discardBefore(index: number): void {
    const drop = Math.min(index - this.start, this.length);
    if (drop <= 0) return;
    this.buffer.copyWithin(0, drop, this.length);
    this.length -= drop;
    this.start += drop;
  }
}
