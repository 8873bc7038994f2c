import { describe, expect, it } from "vitest";
import { LipSyncError } from "../errors.js";
import { decodePcm } from "./pcm.js";
import { encodeWav, parseWav } from "./wav.js";

describe("parseWav", () => {
  it("round-trips 16-bit PCM exactly", () => {
    const samples = Float32Array.from([0, 0.5, -0.5, 32767 / 32768, -1]);
    const decoded = parseWav(encodeWav(samples, 22050));
    expect(decoded.sampleRate).toBe(22050);
    expect(Array.from(decoded.samples)).toEqual(Array.from(samples));
  });

  it("rejects what is not a WAV file", () => {
    expect(() => parseWav(new TextEncoder().encode("not a wav file at all"))).toThrow(LipSyncError);
  });

  it("rejects formats it cannot decode with a clear message", () => {
    const wav = encodeWav(new Float32Array(4), 8000);
    new DataView(wav.buffer).setUint16(34, 12, true);
    expect(() => parseWav(wav)).toThrow(/12 bits is not supported/);
    const alaw = encodeWav(new Float32Array(4), 8000);
    new DataView(alaw.buffer).setUint16(20, 6, true);
    expect(() => parseWav(alaw)).toThrow(/format 6/);
  });

  // Every variant a recorder or ffmpeg writes: the same signal must come back, to its precision.
  const signal = Float32Array.from({ length: 64 }, (_, i) => 0.8 * Math.sin(i / 3));
  const variants = [
    { name: "8-bit unsigned", tag: 1, bits: 8, tol: 1 / 64 },
    { name: "16-bit", tag: 1, bits: 16, tol: 1e-4 },
    { name: "24-bit", tag: 1, bits: 24, tol: 1e-6 },
    { name: "32-bit integer", tag: 1, bits: 32, tol: 1e-6 },
    { name: "32-bit float", tag: 3, bits: 32, tol: 1e-7 },
    { name: "64-bit float", tag: 3, bits: 64, tol: 1e-7 },
  ];
  for (const extensible of [false, true]) {
    for (const v of variants) {
      it(`decodes ${v.name}${extensible ? " (WAVE_FORMAT_EXTENSIBLE)" : ""}, 3 channels mixed down, at 192 kHz`, () => {
        const decoded = parseWav(makeWav(signal, 3, 192_000, v.tag, v.bits, extensible));
        expect(decoded.sampleRate).toBe(192_000);
        expect(decoded.samples.length).toBe(signal.length);
        for (let i = 0; i < signal.length; i++) expect(Math.abs(decoded.samples[i]! - signal[i]!)).toBeLessThan(v.tol);
      });
    }
  }
});

/** A WAV of `samples` copied to `channels` channels, in the given format. */
function makeWav(samples: Float32Array, channels: number, rate: number, tag: number, bits: number, extensible: boolean): Uint8Array {
  const bytes = bits / 8;
  const fmtSize = extensible ? 40 : 16;
  const dataSize = samples.length * channels * bytes;
  const out = new Uint8Array(12 + 8 + fmtSize + 8 + dataSize);
  const v = new DataView(out.buffer);
  const put = (o: number, t: string) => [...t].forEach((c, i) => (out[o + i] = c.charCodeAt(0)));
  put(0, "RIFF");
  v.setUint32(4, out.length - 8, true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, extensible ? 0xfffe : tag, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * channels * bytes, true);
  v.setUint16(32, channels * bytes, true);
  v.setUint16(34, bits, true);
  if (extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, bits, true);
    v.setUint32(40, 0, true);
    v.setUint16(44, tag, true); // SubFormat GUID: the tag, then the fixed KSDATAFORMAT tail
  }
  let o = 20 + fmtSize;
  put(o, "data");
  v.setUint32(o + 4, dataSize, true);
  o += 8;
  for (const x of samples) {
    for (let c = 0; c < channels; c++, o += bytes) {
      if (tag === 3) {
        if (bits === 32) v.setFloat32(o, x, true);
        else v.setFloat64(o, x, true);
      } else if (bits === 8) v.setUint8(o, Math.round(x * 127) + 128);
      else if (bits === 16) v.setInt16(o, Math.round(x * 32767), true);
      else if (bits === 24) {
        const n = Math.round(x * 8388607);
        v.setUint8(o, n & 0xff);
        v.setUint8(o + 1, (n >> 8) & 0xff);
        v.setInt8(o + 2, n >> 16);
      } else v.setInt32(o, Math.round(x * 2147483647), true);
    }
  }
  return out;
}

describe("decodePcm", () => {
  it("mixes stereo to mono", () => {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt16(0, 16384, true);
    new DataView(bytes.buffer).setInt16(2, -16384, true);
    expect(Array.from(decodePcm(bytes, "s16le", 2))).toEqual([0]);
  });

  it("rejects odd byte counts", () => {
    expect(() => decodePcm(new Uint8Array(3), "s16le", 1)).toThrow(/whole number/);
  });

  it("rejects NaN and infinite floats", () => {
    const f = new Float32Array([0.1, Number.NaN]);
    expect(() => decodePcm(new Uint8Array(f.buffer), "f32le", 1)).toThrow(/NaN/);
    const g = new Float32Array([Number.POSITIVE_INFINITY]);
    expect(() => decodePcm(new Uint8Array(g.buffer), "f32le", 1)).toThrow(/infinite/);
  });
});
