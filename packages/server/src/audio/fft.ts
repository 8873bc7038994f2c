/**
 * A mixed-radix complex FFT for any size whose prime factors are small (800 = 2^5 * 5^2, the
 * mel front end's n_fft). Recursive decimation in time, float64, twiddles from one table.
 */
export class Fft {
  readonly size: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError("FFT size must be a positive integer");
    for (let n = size, p = 2; n > 1; ) {
      if (n % p === 0) n /= p;
      else if (++p > 13) throw new RangeError(`FFT size ${size} has a prime factor above 13`);
    }
    this.size = size;
    this.cos = new Float64Array(size);
    this.sin = new Float64Array(size);
    for (let e = 0; e < size; e++) {
      this.cos[e] = Math.cos((2 * Math.PI * e) / size);
      this.sin[e] = -Math.sin((2 * Math.PI * e) / size);
    }
    this.scratchRe = new Float64Array(16);
    this.scratchIm = new Float64Array(16);
  }

  /** Forward transform of (inRe, inIm) into (outRe, outIm); all of length `size`. */
  transform(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.step(this.size, inRe, inIm, 0, 1, outRe, outIm, 0);
  }

  private step(n: number, inRe: Float64Array, inIm: Float64Array, inOff: number, stride: number,
    outRe: Float64Array, outIm: Float64Array, outOff: number): void {
    if (n === 1) {
      outRe[outOff] = inRe[inOff]!;
      outIm[outOff] = inIm[inOff]!;
      return;
    }
    let p = 2;
    while (n % p !== 0) p++;
    const m = n / p;
    for (let q = 0; q < p; q++) {
      this.step(m, inRe, inIm, inOff + q * stride, stride * p, outRe, outIm, outOff + q * m);
    }
    // Butterflies: X[k + s m] = sum_q W_n^{q (k + s m)} Y_q[k].
    const tw = this.size / n;
    const re = this.scratchRe;
    const im = this.scratchIm;
    for (let k = 0; k < m; k++) {
      for (let q = 0; q < p; q++) {
        const e = (q * k * tw) % this.size;
        const yr = outRe[outOff + q * m + k]!;
        const yi = outIm[outOff + q * m + k]!;
        re[q] = yr * this.cos[e]! - yi * this.sin[e]!;
        im[q] = yr * this.sin[e]! + yi * this.cos[e]!;
      }
      for (let s = 0; s < p; s++) {
        let ar = 0;
        let ai = 0;
        for (let q = 0; q < p; q++) {
          const e = ((q * s * m) % n) * tw;
          ar += re[q]! * this.cos[e]! - im[q]! * this.sin[e]!;
          ai += re[q]! * this.sin[e]! + im[q]! * this.cos[e]!;
        }
        outRe[outOff + k + s * m] = ar;
        outIm[outOff + k + s * m] = ai;
      }
    }
  }
}
