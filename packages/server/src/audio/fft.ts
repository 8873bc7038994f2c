/**
 * FFTs for the mel front end, float64. Every live session computes 80 spectra a second, so this
 * is the hottest code on the audio path: a mixed-radix Stockham transform (autosort, no bit
 * reversal) with the stages planned once, butterflies written out for radix 2, 4 and 5 (800 =
 * 2 * 4 * 4 * 5 * 5) and a general one for other small primes, twiddles from one table indexed
 * without modulo. `RealFft` takes the spectrum of a real frame through a complex FFT of half
 * the size, which halves the work again.
 */

interface Stage {
  radix: number;
  /** Current transform length and its sub-length n / radix. */
  n: number;
  m: number;
  /** Interleaved sequences (product of the radices of the earlier stages). */
  s: number;
}

function factorize(size: number): number[] {
  const radices: number[] = [];
  let n = size;
  while (n % 4 === 0) {
    radices.push(4);
    n /= 4;
  }
  for (let p = 2; n > 1; p++) {
    if (p > 13) throw new RangeError(`FFT size ${size} has a prime factor above 13`);
    while (n % p === 0) {
      radices.push(p);
      n /= p;
    }
  }
  return radices;
}

export class Fft {
  readonly size: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly stages: Stage[] = [];
  private readonly workRe: Float64Array;
  private readonly workIm: Float64Array;
  private readonly tmpRe = new Float64Array(16);
  private readonly tmpIm = new Float64Array(16);

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError("FFT size must be a positive integer");
    this.size = size;
    this.cos = new Float64Array(size);
    this.sin = new Float64Array(size);
    for (let e = 0; e < size; e++) {
      this.cos[e] = Math.cos((2 * Math.PI * e) / size);
      this.sin[e] = -Math.sin((2 * Math.PI * e) / size);
    }
    let n = size;
    let s = 1;
    for (const radix of factorize(size)) {
      this.stages.push({ radix, n, m: n / radix, s });
      n /= radix;
      s *= radix;
    }
    this.workRe = new Float64Array(size);
    this.workIm = new Float64Array(size);
  }

  /** Forward transform of (inRe, inIm) into (outRe, outIm); all of length `size`; inputs kept. */
  transform(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    const count = this.stages.length;
    if (count === 0) {
      outRe[0] = inRe[0]!;
      outIm[0] = inIm[0]!;
      return;
    }
    // Ping-pong so that the last stage writes into `out`.
    let xr = inRe;
    let xi = inIm;
    for (let k = 0; k < count; k++) {
      const toOut = (count - 1 - k) % 2 === 0;
      const yr = toOut ? outRe : this.workRe;
      const yi = toOut ? outIm : this.workIm;
      this.stage(this.stages[k]!, xr, xi, yr, yi);
      xr = yr;
      xi = yi;
    }
  }

  /**
   * One Stockham DIF stage: y[q + s (r p + k)] = W_n^{p k} * sum_j x[q + s (p + j m)] W_r^{j k}.
   * Twiddle W_n^e is table entry e * size / n, and p k < n, so no index wraps.
   */
  private stage(st: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
    const { radix: r, n, m, s } = st;
    const step = this.size / n;
    const cos = this.cos;
    const sin = this.sin;
    const sm = s * m;
    if (r === 2) {
      for (let p = 0; p < m; p++) {
        const w1r = cos[p * step]!;
        const w1i = sin[p * step]!;
        for (let q = 0; q < s; q++) {
          const a = q + s * p;
          const ar = xr[a]!, ai = xi[a]!, br = xr[a + sm]!, bi = xi[a + sm]!;
          const o = q + s * 2 * p;
          yr[o] = ar + br;
          yi[o] = ai + bi;
          const dr = ar - br, di = ai - bi;
          yr[o + s] = dr * w1r - di * w1i;
          yi[o + s] = dr * w1i + di * w1r;
        }
      }
    } else if (r === 4) {
      for (let p = 0; p < m; p++) {
        const e = p * step;
        const w1r = cos[e]!, w1i = sin[e]!, w2r = cos[2 * e]!, w2i = sin[2 * e]!, w3r = cos[3 * e]!, w3i = sin[3 * e]!;
        for (let q = 0; q < s; q++) {
          const a = q + s * p;
          const x0r = xr[a]!, x0i = xi[a]!;
          const x1r = xr[a + sm]!, x1i = xi[a + sm]!;
          const x2r = xr[a + 2 * sm]!, x2i = xi[a + 2 * sm]!;
          const x3r = xr[a + 3 * sm]!, x3i = xi[a + 3 * sm]!;
          const t0r = x0r + x2r, t0i = x0i + x2i, t1r = x0r - x2r, t1i = x0i - x2i;
          const t2r = x1r + x3r, t2i = x1i + x3i;
          // (x1 - x3) * -i
          const t3r = x1i - x3i, t3i = x3r - x1r;
          const o = q + s * 4 * p;
          yr[o] = t0r + t2r;
          yi[o] = t0i + t2i;
          const b1r = t1r + t3r, b1i = t1i + t3i;
          yr[o + s] = b1r * w1r - b1i * w1i;
          yi[o + s] = b1r * w1i + b1i * w1r;
          const b2r = t0r - t2r, b2i = t0i - t2i;
          yr[o + 2 * s] = b2r * w2r - b2i * w2i;
          yi[o + 2 * s] = b2r * w2i + b2i * w2r;
          const b3r = t1r - t3r, b3i = t1i - t3i;
          yr[o + 3 * s] = b3r * w3r - b3i * w3i;
          yi[o + 3 * s] = b3r * w3i + b3i * w3r;
        }
      }
    } else if (r === 5) {
      // W_5^k as table entries k * size / 5.
      const f = this.size / 5;
      const c1 = cos[f]!, s1 = sin[f]!, c2 = cos[2 * f]!, s2 = sin[2 * f]!;
      for (let p = 0; p < m; p++) {
        const e = p * step;
        const w1r = cos[e]!, w1i = sin[e]!, w2r = cos[2 * e]!, w2i = sin[2 * e]!;
        const w3r = cos[3 * e]!, w3i = sin[3 * e]!, w4r = cos[4 * e]!, w4i = sin[4 * e]!;
        for (let q = 0; q < s; q++) {
          const a = q + s * p;
          const x0r = xr[a]!, x0i = xi[a]!;
          const x1r = xr[a + sm]!, x1i = xi[a + sm]!;
          const x2r = xr[a + 2 * sm]!, x2i = xi[a + 2 * sm]!;
          const x3r = xr[a + 3 * sm]!, x3i = xi[a + 3 * sm]!;
          const x4r = xr[a + 4 * sm]!, x4i = xi[a + 4 * sm]!;
          const s14r = x1r + x4r, s14i = x1i + x4i, d14r = x1r - x4r, d14i = x1i - x4i;
          const s23r = x2r + x3r, s23i = x2i + x3i, d23r = x2r - x3r, d23i = x2i - x3i;
          const o = q + s * 5 * p;
          yr[o] = x0r + s14r + s23r;
          yi[o] = x0i + s14i + s23i;
          // b_k = x0 + c(k) s14 + c(2k) s23 + i (s(k) d14 + s(2k) d23), with s() = table's -sin.
          const a1r = x0r + c1 * s14r + c2 * s23r, a1i = x0i + c1 * s14i + c2 * s23i;
          const a2r = x0r + c2 * s14r + c1 * s23r, a2i = x0i + c2 * s14i + c1 * s23i;
          const e1r = -(s1 * d14i + s2 * d23i), e1i = s1 * d14r + s2 * d23r;
          const e2r = -(s2 * d14i - s1 * d23i), e2i = s2 * d14r - s1 * d23r;
          const b1r = a1r + e1r, b1i = a1i + e1i, b4r = a1r - e1r, b4i = a1i - e1i;
          const b2r = a2r + e2r, b2i = a2i + e2i, b3r = a2r - e2r, b3i = a2i - e2i;
          yr[o + s] = b1r * w1r - b1i * w1i;
          yi[o + s] = b1r * w1i + b1i * w1r;
          yr[o + 2 * s] = b2r * w2r - b2i * w2i;
          yi[o + 2 * s] = b2r * w2i + b2i * w2r;
          yr[o + 3 * s] = b3r * w3r - b3i * w3i;
          yi[o + 3 * s] = b3r * w3i + b3i * w3r;
          yr[o + 4 * s] = b4r * w4r - b4i * w4i;
          yi[o + 4 * s] = b4r * w4i + b4i * w4r;
        }
      }
    } else {
      const f = this.size / r;
      const tr = this.tmpRe;
      const ti = this.tmpIm;
      for (let p = 0; p < m; p++) {
        for (let q = 0; q < s; q++) {
          const a = q + s * p;
          for (let j = 0; j < r; j++) {
            tr[j] = xr[a + j * sm]!;
            ti[j] = xi[a + j * sm]!;
          }
          const o = q + s * r * p;
          for (let k = 0; k < r; k++) {
            let br = 0;
            let bi = 0;
            for (let j = 0; j < r; j++) {
              const idx = ((j * k) % r) * f;
              br += tr[j]! * cos[idx]! - ti[j]! * sin[idx]!;
              bi += tr[j]! * sin[idx]! + ti[j]! * cos[idx]!;
            }
            const w = p * k * step;
            yr[o + k * s] = br * cos[w]! - bi * sin[w]!;
            yi[o + k * s] = br * sin[w]! + bi * cos[w]!;
          }
        }
      }
    }
  }
}

/**
 * Spectrum of a real frame of even length `size`: bins 0..size/2. The frame's even and odd
 * samples are the real and imaginary parts of one complex FFT of size/2, separated afterwards.
 */
export class RealFft {
  readonly size: number;
  private readonly half: Fft;
  private readonly zr: Float64Array;
  private readonly zi: Float64Array;
  private readonly outZr: Float64Array;
  private readonly outZi: Float64Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 2 || size % 2 !== 0) throw new RangeError("real FFT size must be an even integer >= 2");
    this.size = size;
    const h = size / 2;
    this.half = new Fft(h);
    this.zr = new Float64Array(h);
    this.zi = new Float64Array(h);
    this.outZr = new Float64Array(h);
    this.outZi = new Float64Array(h);
    this.cos = Float64Array.from({ length: h + 1 }, (_, k) => Math.cos((2 * Math.PI * k) / size));
    this.sin = Float64Array.from({ length: h + 1 }, (_, k) => -Math.sin((2 * Math.PI * k) / size));
  }

  /** X[k] for k = 0..size/2 of the real `frame` into (outRe, outIm), each of length size/2 + 1. */
  transform(frame: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    const h = this.size / 2;
    const { zr, zi, outZr, outZi } = this;
    for (let t = 0; t < h; t++) {
      zr[t] = frame[2 * t]!;
      zi[t] = frame[2 * t + 1]!;
    }
    this.half.transform(zr, zi, outZr, outZi);
    // E[k] = (Z[k] + conj Z[h-k]) / 2, O[k] = (Z[k] - conj Z[h-k]) / 2i, X[k] = E[k] + W^k O[k].
    for (let k = 0; k <= h; k++) {
      const a = k % h;
      const b = (h - k) % h;
      const zkr = outZr[a]!, zki = outZi[a]!, zcr = outZr[b]!, zci = -outZi[b]!;
      const er = (zkr + zcr) / 2, ei = (zki + zci) / 2;
      const or = (zki - zci) / 2, oi = -(zkr - zcr) / 2;
      const wr = this.cos[k]!, wi = this.sin[k]!;
      outRe[k] = er + or * wr - oi * wi;
      outIm[k] = ei + or * wi + oi * wr;
    }
  }
}
