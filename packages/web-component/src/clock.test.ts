import { describe, expect, it } from "vitest";
import { idleIndex, PlaybackClock } from "./clock.js";

describe("PlaybackClock", () => {
  it("maps pts to audio time and back through the anchor", () => {
    const c = new PlaybackClock();
    c.setAnchor(6400, 2.0);
    expect(c.timeOf(6400 + 16000)).toBeCloseTo(3.0, 9);
    expect(c.ptsAt(2.5)).toBeCloseTo(6400 + 8000, 6);
  });

  it("keeps running from the same pts when re-anchored for idle", () => {
    const c = new PlaybackClock();
    c.setAnchor(0, 1);
    c.holdAt(1.5);
    expect(c.current.pts).toBeCloseTo(8000, 6);
    expect(c.ptsAt(2)).toBeCloseTo(16000, 6);
  });
});

describe("idleIndex", () => {
  it("walks the footage back and forth like the server", () => {
    expect([0, 640, 639, 124 * 640, 125 * 640, 248 * 640, 249 * 640].map((p) => idleIndex(p, 125))).toEqual([0, 1, 0, 124, 123, 0, 1]);
  });
});
