import { describe, expect, it } from "vitest";
import { JitterBuffer, JitterEstimator } from "./jitter-buffer.js";

describe("JitterBuffer", () => {
  it("hands out the frame covering a pts and never one out of order", () => {
    const b = new JitterBuffer<string>();
    b.push(1280, "c");
    b.push(0, "a");
    b.push(640, "b");
    expect(b.take(100)?.value).toBe("a");
    expect(b.take(700)?.value).toBe("b");
    // "a" was taken: a frame for an earlier pts arriving now is late and refused.
    expect(b.push(0, "late")).toBe(false);
    expect(b.late).toBe(1);
    expect(b.take(1300)?.value).toBe("c");
  });

  it("skips frames whose moment passed while nothing was drawn", () => {
    const b = new JitterBuffer<number>();
    for (let k = 0; k < 5; k++) b.push(k * 640, k);
    expect(b.take(3 * 640 + 10)?.value).toBe(3);
    expect(b.skipped).toBe(3);
    expect(b.depth).toBe(1);
  });

  it("holds a frame that is not due yet", () => {
    const b = new JitterBuffer<number>();
    b.push(640, 1);
    expect(b.take(639)).toBeUndefined();
    expect(b.depth).toBe(1);
  });

  it("drops everything on clear and accepts frames after the resume point", () => {
    const b = new JitterBuffer<number>();
    b.push(0, 0);
    b.push(640, 1);
    expect(b.clear(640)).toHaveLength(2);
    expect(b.push(640, 1)).toBe(false);
    expect(b.push(1280, 2)).toBe(true);
  });

  it("ignores a duplicate pts", () => {
    const b = new JitterBuffer<number>();
    expect(b.push(0, 0)).toBe(true);
    expect(b.push(0, 1)).toBe(false);
    expect(b.depth).toBe(1);
  });
});

describe("JitterEstimator", () => {
  it("needs no more than the minimum delay when frames arrive early", () => {
    const j = new JitterEstimator();
    for (let k = 0; k < 50; k++) j.add(-k * 0.03);
    expect(j.jitter).toBe(0);
    expect(j.delay()).toBe(0.04);
  });

  it("grows the delay with late arrivals and caps it", () => {
    const j = new JitterEstimator();
    for (let k = 0; k < 100; k++) j.add(k % 10 === 0 ? 0.12 : 0.01);
    expect(j.jitter).toBeCloseTo(0.12, 5);
    expect(j.delay()).toBeCloseTo(0.16, 5);
    for (let k = 0; k < 200; k++) j.add(2);
    expect(j.delay()).toBe(0.4);
  });
});
