/** Admission alone: capacity shares, limits, readiness and the drain, with a fixed capacity. */
import { describe, expect, it } from "vitest";
import type { Avatar } from "../avatar/avatar.js";
import { resolveConfig } from "../config.js";
import { silentLogger } from "../logger.js";
import { Stats } from "../metrics.js";
import { Admission } from "./admission.js";

const avatar = { name: "demo", manifest: { fps: 25 } } as unknown as Avatar;
const client = (id: string, maxSessions?: number) => ({ id, admin: false, avatars: undefined, maxSessions });

function admission(options: Parameters<typeof resolveConfig>[0]) {
  const stats = new Stats();
  return { a: new Admission(resolveConfig({ sessionCapacity: 2, ...options }), stats, silentLogger()), stats };
}

describe("admission", () => {
  it("admits what the capacity holds, refuses the next with a retryable RESOURCE_EXHAUSTED, and takes one back on release", () => {
    const { a, stats } = admission({ retryAfterMs: 3000 });
    const first = a.admit(avatar, false, undefined);
    a.admit(avatar, false, undefined);
    expect(a.used).toBe(1);
    expect(() => a.admit(avatar, false, undefined)).toThrow(expect.objectContaining({ code: "resource_exhausted", retryable: true, retryAfterMs: 3000 }));
    expect(stats.sessionsRefused).toBe(1);
    first.release();
    first.release();
    expect(a.used).toBe(0.5);
    expect(() => a.admit(avatar, false, undefined)).not.toThrow();
  });

  it("holds a client to its own limit (a JWT's max_sessions over the server's per-client one)", () => {
    const { a } = admission({ sessionCapacity: 10, maxSessionsPerClient: 2 });
    a.admit(avatar, true, client("jwt:a"));
    a.admit(avatar, true, client("jwt:a"));
    expect(() => a.admit(avatar, true, client("jwt:a"))).toThrow(/this client is at its limit of 2/);
    a.admit(avatar, true, client("jwt:b", 3));
    a.admit(avatar, true, client("jwt:b", 3));
    expect(() => a.admit(avatar, true, client("jwt:b", 3))).not.toThrow();
  });

  it("is ready while one more session fits, not at capacity, not without avatars, not while draining", () => {
    const { a } = admission({});
    expect(a.readiness([])).toEqual({ serving: false, reason: "no avatar loaded" });
    expect(a.readiness([avatar]).serving).toBe(true);
    a.admit(avatar, false, undefined);
    a.admit(avatar, false, undefined);
    expect(a.readiness([avatar])).toEqual({ serving: false, reason: "at capacity" });
    const { a: b } = admission({});
    b.startDraining();
    expect(b.readiness([avatar])).toEqual({ serving: false, reason: "shutting down" });
    expect(() => b.precheck(undefined)).toThrow(expect.objectContaining({ code: "unavailable" }));
  });
});
