import { describe, expect, it } from "vitest";
import { DEFAULT_MEL } from "../constants.js";
import { encoderInputDims, inputLookaheadSamples, openInputs, silenceInput, trackInputs } from "./inputs.js";
import type { FrontEndSpec } from "./types.js";

const waveform: FrontEndSpec = { kind: "waveform", windowSamples: 1000, offsetSamples: -200 };
const mel: FrontEndSpec = { kind: "mel", mel: DEFAULT_MEL, timing: { offsetSamples: -640, edge: "clamp" } };
const signal = Float32Array.from({ length: 7000 }, (_, i) => Math.sin(i / 7) * 0.3 + (i % 13) / 100);

/** Inputs of every frame when the samples arrive in chunks of `chunk`, taken as soon as ready. */
function streamed(spec: FrontEndSpec, spf: number, chunk: number, frames: number): Float32Array[] {
  const s = openInputs(spec, spf)!;
  const out: Float32Array[] = [];
  for (let i = 0; i < signal.length; i += chunk) {
    s.push(signal.subarray(i, i + chunk));
    while (out.length < frames && s.ready(out.length)) {
      out.push(s.input(out.length));
      s.discardBefore(out.length);
    }
  }
  s.end();
  while (out.length < frames) out.push(s.input(out.length));
  return out;
}

describe("front-end input streams", () => {
  for (const [label, spec, spf] of [["waveform at 20 fps", waveform, 800], ["mel (SyncTalk_2D timing)", mel, 640]] as const) {
    it(`give the offline inputs whatever the chunking (${label})`, () => {
      const frames = Math.ceil(signal.length / spf);
      const offline = trackInputs(spec, spf, signal, frames);
      for (const chunk of [1, 160, 999, 7000]) {
        const live = streamed(spec, spf, chunk, frames);
        live.forEach((x, j) => expect(Array.from(x)).toEqual(Array.from(offline[j]!)));
      }
    });
  }

  it("cuts the waveform window at the frame plus the offset, zeros outside the utterance", () => {
    const [first, second] = trackInputs(waveform, 800, signal, 2);
    expect(first!.length).toBe(1000);
    expect(first!.subarray(0, 200).every((v) => v === 0)).toBe(true);
    expect(first![200]).toBe(signal[0]);
    expect(second![0]).toBe(signal[600]);
  });

  it("waits for the samples a window reads and states that lookahead", () => {
    const s = openInputs(waveform, 800)!;
    s.push(new Float32Array(799));
    expect(s.ready(0)).toBe(false);
    s.push(new Float32Array(1));
    expect(s.ready(0)).toBe(true);
    expect(inputLookaheadSamples(waveform, 800)).toBe(0);
    // Mel: 16 frames from 640 j - 640, each reading n_fft / 2 past its centre.
    expect(inputLookaheadSamples(mel, 640)).toBe(-640 + 15 * 200 + 400 - 640);
    expect(encoderInputDims(mel)).toEqual([1, 80, 16]);
    expect(encoderInputDims(waveform)).toEqual([1000]);
    expect(silenceInput(mel)!.every((v) => v === -4)).toBe(true);
  });
});
