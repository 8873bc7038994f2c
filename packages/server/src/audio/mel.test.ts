import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { maxAbsDiff, readTensor, REFERENCE_DIR, referenceIndex } from "../../test/reference.js";
import { DEFAULT_MEL } from "./constants.js";
import { Fft, RealFft } from "./fft.js";
import { melSpectrogram, MelStream } from "./mel.js";
import { parseWav } from "./wav.js";

describe("mel features", () => {
  const index = referenceIndex();
  const wav = parseWav(readFileSync(path.join(REFERENCE_DIR, index.audio)));
  const reference = readTensor(index.mel);

  it("equal the training pipeline's reference to 1e-4", () => {
    expect(wav.sampleRate).toBe(16000);
    const mel = melSpectrogram(wav.samples, DEFAULT_MEL);
    expect(mel.length).toBe(reference.shape[0]);
    const flat = new Float32Array(mel.length * DEFAULT_MEL.nMels);
    mel.forEach((frame, i) => flat.set(frame, i * DEFAULT_MEL.nMels));
    expect(maxAbsDiff(flat, reference.data)).toBeLessThanOrEqual(1e-4);
  });

  it("are the same whatever the chunk sizes of the stream", () => {
    const whole = melSpectrogram(wav.samples, DEFAULT_MEL);
    for (const chunk of [1, 37, 640, 4001]) {
      const stream = new MelStream(DEFAULT_MEL);
      const frames: Float32Array[] = [];
      for (let i = 0; i < wav.samples.length; i += chunk) frames.push(...stream.push(wav.samples.subarray(i, i + chunk)));
      frames.push(...stream.flush());
      expect(frames.length).toBe(whole.length);
      expect(maxAbsDiff(frames[frames.length - 1]!, whole[whole.length - 1]!)).toBe(0);
      expect(maxAbsDiff(frames[100]!, whole[100]!)).toBe(0);
    }
  });

  it("emit a frame only once the samples it reads have arrived", () => {
    const stream = new MelStream(DEFAULT_MEL);
    expect(stream.push(new Float32Array(399))).toHaveLength(0);
    expect(stream.push(new Float32Array(1))).toHaveLength(1);
    expect(stream.push(new Float32Array(199))).toHaveLength(0);
    expect(stream.push(new Float32Array(1))).toHaveLength(1);
  });
});

/** X[k] of a real or complex signal by the definition. */
function dft(re: Float64Array, im: Float64Array, k: number): [number, number] {
  const n = re.length;
  let sr = 0;
  let si = 0;
  for (let t = 0; t < n; t++) {
    const a = (2 * Math.PI * k * t) / n;
    sr += re[t]! * Math.cos(a) + im[t]! * Math.sin(a);
    si += im[t]! * Math.cos(a) - re[t]! * Math.sin(a);
  }
  return [sr, si];
}

describe("fft", () => {
  for (const n of [1, 2, 4, 5, 8, 12, 25, 49, 100, 400, 800, 1024, 2 * 3 * 7 * 11]) {
    it(`matches a direct DFT of a complex signal at every bin, size ${n}`, () => {
      const re = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.91));
      const im = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.11) - 0.2);
      const outRe = new Float64Array(n);
      const outIm = new Float64Array(n);
      new Fft(n).transform(re, im, outRe, outIm);
      for (let k = 0; k < n; k++) {
        const [sr, si] = dft(re, im, k);
        expect(Math.abs(outRe[k]! - sr)).toBeLessThan(1e-9 * n);
        expect(Math.abs(outIm[k]! - si)).toBeLessThan(1e-9 * n);
      }
    });
  }

  for (const n of [2, 10, 200, 800]) {
    it(`gives the spectrum of a real frame through half-size FFT, size ${n}`, () => {
      const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.73) * Math.exp(-i / n) + (i % 7) / 10);
      const outRe = new Float64Array(n / 2 + 1);
      const outIm = new Float64Array(n / 2 + 1);
      new RealFft(n).transform(x, outRe, outIm);
      for (let k = 0; k <= n / 2; k++) {
        const [sr, si] = dft(x, new Float64Array(n), k);
        expect(Math.abs(outRe[k]! - sr)).toBeLessThan(1e-9 * n);
        expect(Math.abs(outIm[k]! - si)).toBeLessThan(1e-9 * n);
      }
    });
  }

  it("matches a direct DFT for size 800", () => {
    const n = 800;
    const re = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.91));
    const im = new Float64Array(n);
    const outRe = new Float64Array(n);
    const outIm = new Float64Array(n);
    new Fft(n).transform(re, im, outRe, outIm);
    for (const k of [0, 1, 59, 400, 799]) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        sr += re[t]! * Math.cos((2 * Math.PI * k * t) / n);
        si -= re[t]! * Math.sin((2 * Math.PI * k * t) / n);
      }
      expect(Math.abs(outRe[k]! - sr)).toBeLessThan(1e-9);
      expect(Math.abs(outIm[k]! - si)).toBeLessThan(1e-9);
    }
  });
});
