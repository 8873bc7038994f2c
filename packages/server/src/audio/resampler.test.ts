import { describe, expect, it } from "vitest";
import { Resampler } from "./resampler.js";

function tone(freq: number, rate: number, seconds: number): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.sin((2 * Math.PI * freq * i) / rate));
}

function rms(x: Float32Array, skip = 200): number {
  let s = 0;
  for (let i = skip; i < x.length - skip; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, x.length - 2 * skip));
}

function resampleAll(input: Float32Array, from: number, chunk: number): Float32Array {
  const r = new Resampler(from, 16000);
  const parts: Float32Array[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(r.push(input.subarray(i, i + chunk)));
  parts.push(r.flush());
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

describe("Resampler", () => {
  it.each([8000, 11025, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000])("keeps a 1 kHz tone at %i Hz", (rate) => {
    const out = resampleAll(tone(1000, rate, 0.5), rate, 997);
    expect(out.length).toBe(Math.ceil((Math.round(rate * 0.5) * 16000) / rate));
    expect(rms(out)).toBeGreaterThan(0.70);
    expect(rms(out)).toBeLessThan(0.72);
  });

  it("removes content above the new Nyquist instead of aliasing it", () => {
    // 12 kHz at 48 kHz would fold to 4 kHz under naive decimation.
    const out = resampleAll(tone(12000, 48000, 0.5), 48000, 4800);
    expect(rms(out)).toBeLessThan(0.001);
    // 30 kHz at 192 kHz: a studio recording's ultrasonic content must not reach the speech band.
    expect(rms(resampleAll(tone(30000, 192000, 0.5), 192000, 19200))).toBeLessThan(0.001);
  });

  it("gives the same samples whatever the chunking", () => {
    const input = tone(440, 44100, 0.3);
    const a = resampleAll(input, 44100, 1);
    const b = resampleAll(input, 44100, 44100);
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBe(b[i]);
  });

  it("passes 16 kHz through untouched", () => {
    const input = tone(300, 16000, 0.1);
    const out = resampleAll(input, 16000, 100);
    expect(Array.from(out)).toEqual(Array.from(input));
  });
});
