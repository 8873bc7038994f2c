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

  it("rejects 8-bit PCM with a clear message", () => {
    const wav = encodeWav(new Float32Array(4), 8000);
    new DataView(wav.buffer).setUint16(34, 8, true);
    expect(() => parseWav(wav)).toThrow(/8 bits is not supported/);
  });
});

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
