import { describe, expect, it } from "vitest";
import { LipSyncError } from "../../errors.js";
import { StreamAudio, streamFormat } from "./stream-audio.js";

function s16(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setInt16(i * 2, x, true));
  return b;
}

describe("streamFormat", () => {
  it("reads sample_rate and num_channels", () => {
    expect(streamFormat({ sample_rate: "24000", num_channels: "1" })).toEqual({ sampleRate: 24_000, channels: 1 });
  });

  it("refuses a stream without them, or with values no PCM stream has", () => {
    const cases: (Record<string, string> | undefined)[] = [undefined, {}, { sample_rate: "24000" }, { num_channels: "1" }, { sample_rate: "24k", num_channels: "1" }, { sample_rate: "1000", num_channels: "1" },
      { sample_rate: "24000", num_channels: "0" }, { sample_rate: "24000", num_channels: "1.5" }, { sample_rate: "-1", num_channels: "1" }];
    for (const a of cases) {
      expect(() => streamFormat(a), JSON.stringify(a)).toThrow(LipSyncError);
    }
  });
});

describe("StreamAudio", () => {
  it("turns interleaved s16 into mono floats, carrying a sample frame split across chunks", () => {
    const a = new StreamAudio({ sampleRate: 16_000, channels: 2 }, 16_000);
    const bytes = s16([16384, 0, -16384, -16384, 32767, 32767]);
    const out = [...a.push(bytes.subarray(0, 5)), ...a.push(bytes.subarray(5)), ...a.end()];
    expect(out).toEqual([0.25, -0.5, 32767 / 32768]);
  });

  it("resamples to the session's rate, keeping the length", () => {
    const a = new StreamAudio({ sampleRate: 24_000, channels: 1 }, 48_000);
    let n = 0;
    for (let i = 0; i < 10; i++) n += a.push(s16(Array(2400).fill(1000))).length;
    n += a.end().length;
    expect(n).toBe(48_000);
  });

  it("drops a trailing half sample at the end", () => {
    const a = new StreamAudio({ sampleRate: 16_000, channels: 1 }, 16_000);
    expect(a.push(new Uint8Array([0, 64, 1])).length).toBe(1);
    expect(a.end().length).toBe(0);
  });
});
