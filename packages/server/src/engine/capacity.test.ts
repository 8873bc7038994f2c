import { describe, expect, it } from "vitest";
import { LiveCapacity, type Throughput } from "./capacity.js";
import { makeTimings } from "./frame.js";

// Measured on a machine where a batch of n frames ran in 2 + 1 n ms and each frame took 4 ms to composite and encode.
const ref = { runA: 2, runB: 1, postMs: 4, modelShare: 0.5 };
const measured: Throughput = { fullFps: 100, patchFps: 200, inFlight: 16, ms: 1000, full: ref, patch: ref };
const frame = (inferenceMs: number, batchSize: number, postMs: number) =>
  makeTimings({ prepareMs: 0, queueMs: 0, inferenceMs, compositeMs: postMs / 2, encodeMs: postMs / 2, totalMs: 0, batchSize });

describe("live capacity", () => {
  it("keeps the measured rate until enough live frames say otherwise", () => {
    const c = new LiveCapacity(measured);
    for (let i = 0; i < 10; i++) c.observe(frame(1.5, 1, 2), false);
    expect(c.fps(false)).toBe(100);
  });

  it("rises when the live stages run faster than at measurement, per batch size", () => {
    const c = new LiveCapacity(measured);
    // Single frames in 1.5 ms (3 ms expected), batches of 8 in 5 ms (10 expected), post in 2 ms (4): twice as fast.
    for (let i = 0; i < 400; i++) c.observe(i % 2 ? frame(1.5, 1, 2) : frame(5, 8, 2), false);
    expect(c.fps(false)).toBeCloseTo(200, 0);
    expect(c.fps(true)).toBe(200);
  });

  it("falls when the machine got busier, within a factor of four", () => {
    const c = new LiveCapacity(measured);
    for (let i = 0; i < 400; i++) c.observe(frame(30, 1, 40), true);
    expect(c.fps(true)).toBeCloseTo(50, 5);
    for (let i = 0; i < 400; i++) c.observe(frame(6, 1, 8), false);
    expect(c.fps(false)).toBeCloseTo(50, 0);
  });
});
