import { describe, expect, it } from "vitest";
import { FrameWindows } from "../frame-windows.js";
import { DEFAULT_MEL } from "../constants.js";
import { layWindow, SILENCE, trackWindows, windowSlots, ZERO } from "./feature-window.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * SyncTalk_2D's indexing, restated from its inference and preprocessing: encoder outputs f_0 ..
 * f_{N-1} of mel windows starting at int(80 k / 25), moved back to fit at the end; the per-frame
 * sequence P = [f_0, f_0 .. f_{N-1}, f_{N-1}]; frame i's window is P[i-8 .. i+7], zeros outside P.
 * Slots hold the mel frame each feature's window starts at, or ZERO.
 */
function syncTalkOriginal(samples: number): { frames: number; slots: (i: number) => number[] } {
  const melFrames = 1 + Math.floor(samples / 200);
  const n = Math.floor(((melFrames - 16) / 80) * 25) + 2;
  const start = (k: number) => Math.min(Math.floor(80 * (k / 25)), melFrames - 16);
  const p = [start(0), ...range(n).map(start), start(n - 1)];
  return { frames: p.length, slots: (i) => range(16).map((k) => (i - 8 + k >= 0 && i - 8 + k < p.length ? p[i - 8 + k]! : ZERO)) };
}

describe("audio windows against the originals' indexing", () => {
  it("SyncTalk_2D: mel offset -640 with clamping and a [-8, 7] zero-padded window give its exact windows", () => {
    for (const samples of [16_000, 23_999, 32_640, 47_123]) {
      const original = syncTalkOriginal(samples);
      // Our per-frame features: the mel window of each frame, here tagged with its first mel frame.
      const windows = new FrameWindows(DEFAULT_MEL, { samplesPerFrame: 640, offsetSamples: -640, edge: "clamp" });
      const melFrames = 1 + Math.floor(samples / 200);
      windows.add(range(melFrames).map((m) => new Float32Array(80).fill(m)));
      windows.end();
      const ours = Math.ceil(samples / 640);
      // We render every frame of the audio, the original one or two fewer at the very end.
      expect(ours - original.frames).toBeGreaterThanOrEqual(0);
      expect(ours - original.frames).toBeLessThanOrEqual(2);
      const firstMel = (j: number) => windows.window(j)[0]!;
      for (let i = 0; i < original.frames; i++) {
        const slots = windowSlots({ first: -8, last: 7, padding: "zero" }, i, original.frames);
        expect(slots.map((j) => (j >= 0 ? firstMel(j) : j))).toEqual(original.slots(i));
      }
    }
  });

  it("Ultralight: a [-4, 3] zero-padded window over the feature rows is get_audio_features", () => {
    const rows = 30;
    const original = (i: number) => range(8).map((k) => (i - 4 + k >= 0 && i - 4 + k < rows ? i - 4 + k : ZERO));
    for (let i = 0; i < rows; i++) expect(windowSlots({ first: -4, last: 3, padding: "zero" }, i, rows)).toEqual(original(i));
  });

  it("repeats the edge features or reads silence when asked, and pads nothing while the end is unknown", () => {
    expect(windowSlots({ first: -2, last: 2, padding: "repeat" }, 0, 3)).toEqual([0, 0, 0, 1, 2]);
    expect(windowSlots({ first: -2, last: 2, padding: "repeat" }, 2, 3)).toEqual([0, 1, 2, 2, 2]);
    expect(windowSlots({ first: -7, last: 0, padding: "silence" }, 1, undefined)).toEqual([SILENCE, SILENCE, SILENCE, SILENCE, SILENCE, SILENCE, 0, 1]);
    expect(windowSlots({ first: -1, last: 3, padding: "zero" }, 10, undefined)).toEqual([9, 10, 11, 12, 13]);
  });

  it("lays the window flat, oldest first, zeros where there is no feature", () => {
    const a = Float32Array.of(1, 2);
    const b = Float32Array.of(3, 4);
    expect(Array.from(layWindow([undefined, a, b], 2))).toEqual([0, 0, 1, 2, 3, 4]);
    const silence = Float32Array.of(-1, -1);
    const track = trackWindows({ first: -1, last: 0, padding: "silence" }, [a, b], 2, silence);
    expect(track.map((w) => Array.from(w))).toEqual([[-1, -1, 1, 2], [1, 2, 3, 4]]);
  });
});
