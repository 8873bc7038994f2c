import { describe, expect, it } from "vitest";
import { PlaybackTracker } from "./playback.js";

const bounds = (startPts: number, endPts: number) => ({ segment: 1, startPts, endPts, next: undefined });

describe("playback tracker", () => {
  it("counts an utterance played when its frames are out, for a player that never reports", () => {
    const p = new PlaybackTracker();
    expect(p.ended(bounds(640, 6400))).toEqual([{ type: "playback-finished", position: 5760, interrupted: false }]);
  });

  it("waits for a reporting player to present the end", () => {
    const p = new PlaybackTracker();
    expect(p.position(0)).toEqual([]);
    expect(p.ended(bounds(0, 3200))).toEqual([]);
    expect(p.ended(bounds(3200, 6400))).toEqual([]);
    expect(p.position(3199)).toEqual([]);
    expect(p.position(6400)).toEqual([
      { type: "playback-finished", position: 3200, interrupted: false },
      { type: "playback-finished", position: 3200, interrupted: false },
    ]);
  });

  it("on barge-in reports what was played: the position when reported, everything sent otherwise", () => {
    const reporting = new PlaybackTracker();
    reporting.position(1000);
    expect(reporting.interrupted(bounds(640, 6400))).toEqual({ type: "playback-finished", position: 360, interrupted: true });
    expect(new PlaybackTracker().interrupted(bounds(640, 2560))).toEqual({ type: "playback-finished", position: 1920, interrupted: true });
  });
});
