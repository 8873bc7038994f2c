/** The features stage alone, with a counting stand-in encoder. */
import { describe, expect, it } from "vitest";
import { FeatureStage } from "./features.js";
import type { FrameJob } from "./speech-session.js";

function stage() {
  const encoded: number[] = [];
  const model = {
    encode: async (input: Float32Array) => {
      encoded.push(input[0]!);
      return { value: Float32Array.of(input[0]!, input[0]! * 10), timing: { queueMs: 0, runMs: 0, batchSize: 1 } };
    },
  };
  // A window of the frame before and the frame itself, features of two values; silence is [-1, -1].
  const s = new FeatureStage(model, { audio: { window: { first: -1, last: 0, padding: "silence" }, featureDim: 2 }, silence: Float32Array.of(-1, -1) });
  return { s, encoded };
}

const job = (segment: number, frame: number, inputs: number[]): FrameJob => ({
  segment, frame, pts: frame * 640, sourceIndex: 0, inputs: inputs.map((k) => ({ frame: k, input: Float32Array.of(k) })), count: undefined, dueAt: 0,
});

describe("features stage", () => {
  it("encodes each frame's input once and lays each window from its neighbours, silence before the start", async () => {
    const { s, encoded } = stage();
    expect([...(await s.window(job(1, 0, [0]), {}))]).toEqual([-1, -1, 0, 0]);
    expect([...(await s.window(job(1, 1, [1]), {}))]).toEqual([0, 0, 1, 10]);
    expect([...(await s.window(job(1, 2, [2]), {}))]).toEqual([1, 10, 2, 20]);
    expect(encoded).toEqual([0, 1, 2]);
  });

  it("forgets an utterance's features when the next one starts, and on clear", async () => {
    const { s } = stage();
    await s.window(job(1, 0, [0]), {});
    // A new segment: frame 1's neighbour (frame 0 of the new utterance) was never handed in.
    await expect(s.window(job(2, 1, [1]), {})).rejects.toThrow("missing feature of frame 0");
    await s.window(job(3, 0, [0]), {});
    s.clear();
    await expect(s.window(job(3, 1, [1]), {})).rejects.toThrow("missing feature of frame 0");
  });
});
