/**
 * Mel features, exactly as training/mel.py computes them: pre-emphasis, a centred STFT with zero
 * padding (periodic Hann window), Slaney mel filters, dB relative to ref_level_db, scaled and
 * clipped to [-max_abs, max_abs]. Streaming: mel frame m is emitted as soon as the samples it
 * reads (up to m * hop + n_fft / 2) have arrived; flush() pads the end with zeros, so a stream
 * cut into any chunks yields the same 1 + floor(N / hop) frames as the offline computation.
 */
import type { MelConfig } from "./constants.js";
import { RealFft } from "./fft.js";
import { SampleWindow } from "./sample-window.js";

function hzToMel(hz: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / fSp;
}

function melToHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : fSp * mel;
}

interface Band {
  first: number;
  weights: Float64Array;
}

/** Slaney-normalised triangular filters, stored sparsely (librosa's default filterbank). */
function filterbank(c: MelConfig): Band[] {
  const nBins = c.nFft / 2 + 1;
  const lo = hzToMel(c.fMin);
  const hi = hzToMel(c.fMax);
  const pts = Array.from({ length: c.nMels + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (c.nMels + 1)));
  const bands: Band[] = [];
  for (let i = 0; i < c.nMels; i++) {
    const enorm = 2 / (pts[i + 2]! - pts[i]!);
    const full = new Float64Array(nBins);
    let first = -1;
    let last = -1;
    for (let b = 0; b < nBins; b++) {
      const f = (b * c.sampleRate) / c.nFft;
      const lower = (f - pts[i]!) / (pts[i + 1]! - pts[i]!);
      const upper = (pts[i + 2]! - f) / (pts[i + 2]! - pts[i + 1]!);
      const w = Math.max(0, Math.min(lower, upper)) * enorm;
      full[b] = w;
      if (w > 0) {
        if (first < 0) first = b;
        last = b;
      }
    }
    bands.push(first < 0 ? { first: 0, weights: new Float64Array(0) } : { first, weights: full.slice(first, last + 1) });
  }
  return bands;
}

export class MelStream {
  readonly config: MelConfig;
  private readonly fft: RealFft;
  private readonly window: Float64Array;
  private readonly bands: Band[];
  private readonly frameBuf: Float64Array;
  private readonly outRe: Float64Array;
  private readonly outIm: Float64Array;
  private readonly magnitude: Float64Array;
  /** Pre-emphasised samples. */
  private readonly samples = new SampleWindow();
  private previous = 0;
  private nextFrame = 0;
  private flushed = false;

  constructor(config: MelConfig) {
    this.config = config;
    this.fft = new RealFft(config.nFft);
    this.window = new Float64Array(config.nFft);
    const offset = Math.floor((config.nFft - config.winLength) / 2);
    for (let n = 0; n < config.winLength; n++) {
      this.window[offset + n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / config.winLength);
    }
    this.bands = filterbank(config);
    this.frameBuf = new Float64Array(config.nFft);
    this.outRe = new Float64Array(config.nFft / 2 + 1);
    this.outIm = new Float64Array(config.nFft / 2 + 1);
    this.magnitude = new Float64Array(config.nFft / 2 + 1);
  }

  /** Mel frames completed by `samples` (16 kHz mono), each a Float32Array of n_mels. */
  push(samples: Float32Array): Float32Array[] {
    if (this.flushed) throw new Error("mel stream already flushed");
    this.append(samples);
    const out: Float32Array[] = [];
    const half = this.config.nFft / 2;
    while (this.nextFrame * this.config.hopLength + half <= this.samples.end) out.push(this.frame(this.nextFrame++));
    return out;
  }

  /** The remaining frames of the stream, with zeros past its end. */
  flush(): Float32Array[] {
    if (this.flushed) return [];
    this.flushed = true;
    const total = 1 + Math.floor(this.samples.end / this.config.hopLength);
    const out: Float32Array[] = [];
    while (this.nextFrame < total) out.push(this.frame(this.nextFrame++));
    return out;
  }

  /** Mel frames emitted so far. */
  get frames(): number {
    return this.nextFrame;
  }

  private append(samples: Float32Array): void {
    this.samples.discardBefore(this.nextFrame * this.config.hopLength - this.config.nFft / 2);
    const k = this.config.preemphasis;
    const emphasised = new Float64Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      emphasised[i] = samples[i]! - k * this.previous;
      this.previous = samples[i]!;
    }
    this.samples.append(emphasised);
  }

  private frame(m: number): Float32Array {
    const c = this.config;
    const start = m * c.hopLength - c.nFft / 2;
    for (let n = 0; n < c.nFft; n++) this.frameBuf[n] = this.samples.at(start + n) * this.window[n]!;
    this.fft.transform(this.frameBuf, this.outRe, this.outIm);
    for (let b = 0; b < this.magnitude.length; b++) {
      const re = this.outRe[b]!;
      const im = this.outIm[b]!;
      // Math.hypot guards against overflow we cannot have here, at several times the cost.
      this.magnitude[b] = Math.sqrt(re * re + im * im);
    }
    const out = new Float32Array(c.nMels);
    for (let i = 0; i < c.nMels; i++) {
      const band = this.bands[i]!;
      let acc = 0;
      for (let j = 0; j < band.weights.length; j++) acc += band.weights[j]! * this.magnitude[band.first + j]!;
      const db = 20 * Math.log10(Math.max(1e-5, acc)) - c.refLevelDb;
      const scaled = 2 * c.maxAbsValue * ((db - c.minLevelDb) / -c.minLevelDb) - c.maxAbsValue;
      out[i] = Math.max(-c.maxAbsValue, Math.min(c.maxAbsValue, scaled));
    }
    return out;
  }
}

/** Offline mel spectrogram of a whole signal: [frames][n_mels]. */
export function melSpectrogram(samples: Float32Array, config: MelConfig): Float32Array[] {
  const stream = new MelStream(config);
  return [...stream.push(samples), ...stream.flush()];
}
