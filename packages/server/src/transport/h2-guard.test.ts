import { describe, expect, it } from "vitest";
import { TokenBucket } from "./h2-guard.js";

describe("TokenBucket", () => {
  it("spends a burst, then refills at its rate", () => {
    let now = 0;
    const b = new TokenBucket(3, 2, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.waitMs()).toBe(500);
    now = 499;
    expect(b.take()).toBe(false);
    now = 1000;
    expect(b.take()).toBe(true);
    now = 60_000;
    // Never more than the burst, however long it rested.
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });
});
