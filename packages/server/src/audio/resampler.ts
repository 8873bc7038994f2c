/**
 * A streaming band-limited resampler: windowed sinc (Kaiser, beta 8.6, 16 zero crossings each
 * side) evaluated from a finely sampled kernel table. Output sample k sits at input position
 * k * from / to exactly (integer arithmetic, no drift), so chunking never changes the output:
 * pushing N samples in any pieces and flushing yields ceil(N * to / from) samples.
 *
 * Downsampling moves the cutoff to 0.94 of the output Nyquist, so content above it (the
 * 12 kHz of a 48 kHz stream, say) is removed rather than folded into speech frequencies.
 */

import { SampleWindow } from "./sample-window.js";

const ZERO_CROSSINGS = 16;
const KAISER_BETA = 8.6;
const ROLLOFF = 0.94;
/** Kernel table entries per input sample. */
const TABLE_RESOLUTION = 1024;

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

interface Kernel {
  table: Float64Array;
  /** Half-width of the kernel in input samples. */
  halfWidth: number;
  /**
   * Polyphase taps: output positions fall on `den` fractional phases of the input grid, so each
   * phase's weights are computed once (as the table would give them) instead of per sample.
   * Undefined for ratios with too many phases, which use the table directly.
   */
  phases: { offset: number; weights: Float64Array }[] | undefined;
}

/** Most phases precomputed (memory: phases x taps float64, shared by sessions of one rate). */
const MAX_PHASES = 4096;

const kernels = new Map<string, Kernel>();

/** Weight of input sample n for an output at input position t, from the table. */
function tap(table: Float64Array, n: number, t: number): number {
  const pos = Math.abs(n - t) * TABLE_RESOLUTION;
  const j = Math.floor(pos);
  const w = pos - j;
  return table[j]! * (1 - w) + table[j + 1]! * w;
}

function polyphase(table: Float64Array, halfWidth: number, den: number): Kernel["phases"] {
  if (den > MAX_PHASES) return undefined;
  return Array.from({ length: den }, (_, p) => {
    const frac = p / den;
    const first = Math.ceil(frac - halfWidth);
    const last = Math.floor(frac + halfWidth);
    return { offset: first, weights: Float64Array.from({ length: last - first + 1 }, (_, i) => tap(table, first + i, frac)) };
  });
}

function kernelFor(from: number, to: number): Kernel {
  const key = `${from}:${to}`;
  const cached = kernels.get(key);
  if (cached) return cached;
  // Cutoff in cycles per input sample.
  const fc = 0.5 * Math.min(1, to / from) * ROLLOFF;
  const halfWidth = ZERO_CROSSINGS / (2 * fc);
  const n = Math.ceil(halfWidth * TABLE_RESOLUTION) + 2;
  const table = new Float64Array(n);
  const i0beta = besselI0(KAISER_BETA);
  for (let i = 0; i < n; i++) {
    const x = i / TABLE_RESOLUTION;
    if (x > halfWidth) break;
    const arg = 2 * fc * x;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    const r = x / halfWidth;
    const window = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / i0beta;
    table[i] = 2 * fc * sinc * window;
  }
  const g = gcd(from, to);
  const kernel = { table, halfWidth, phases: polyphase(table, halfWidth, to / g) };
  kernels.set(key, kernel);
  return kernel;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export class Resampler {
  readonly from: number;
  readonly to: number;
  private readonly num: number;
  private readonly den: number;
  private readonly kernel: Kernel;
  /** Input samples a future output can still reach. */
  private readonly input = new SampleWindow();
  /** Absolute input samples received. */
  private received = 0;
  /** Next output index. */
  private next = 0;
  private flushed = false;

  constructor(from: number, to: number) {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from <= 0 || to <= 0) {
      throw new RangeError("sample rates must be positive integers");
    }
    this.from = from;
    this.to = to;
    const g = gcd(from, to);
    this.num = from / g;
    this.den = to / g;
    this.kernel = kernelFor(from, to);
  }

  /** Resampled output made available by `input` (may be empty while the kernel fills). */
  push(input: Float32Array): Float32Array {
    if (this.flushed) throw new Error("resampler already flushed");
    if (this.from === this.to) {
      this.received += input.length;
      this.next += input.length;
      return input;
    }
    this.append(input);
    return this.produce(this.received);
  }

  /** The remaining output, treating input past the end as silence. */
  flush(): Float32Array {
    if (this.flushed) return new Float32Array(0);
    this.flushed = true;
    if (this.from === this.to) return new Float32Array(0);
    const total = Math.ceil((this.received * this.den) / this.num);
    return this.produce(Number.POSITIVE_INFINITY, total);
  }

  /** Output samples produced so far. */
  get produced(): number {
    return this.next;
  }

  private append(input: Float32Array): void {
    // Drop input no future output can reach.
    this.input.discardBefore(Math.floor((this.next * this.num) / this.den - this.kernel.halfWidth) - 1);
    this.input.append(input);
    this.received += input.length;
  }

  /** Outputs whose kernel lies inside `available` input samples (or up to `limit` outputs). */
  private produce(available: number, limit = Number.POSITIVE_INFINITY): Float32Array {
    const { table, halfWidth, phases } = this.kernel;
    // Outputs this call can make: those whose kernel ends inside the input received.
    const reachable = Number.isFinite(available) ? Math.floor(((available - 1 - halfWidth) * this.den) / this.num) + 1 : limit;
    const count = Math.max(0, Math.min(limit, reachable + 2) - this.next);
    const out = new Float32Array(count);
    let k = 0;
    for (; k < count; k++) {
      const whole = Math.floor((this.next * this.num) / this.den);
      const phase = (this.next * this.num) % this.den;
      const t = whole + phase / this.den;
      if (Math.floor(t + halfWidth) >= available) break;
      if (phases) {
        const p = phases[phase]!;
        out[k] = this.input.dot(whole + p.offset, p.weights);
      } else {
        const first = Math.ceil(t - halfWidth);
        const last = Math.floor(t + halfWidth);
        let acc = 0;
        for (let n = first; n <= last; n++) acc += this.input.at(n) * tap(table, n, t);
        out[k] = acc;
      }
      this.next++;
    }
    return k === count ? out : out.subarray(0, k);
  }
}
