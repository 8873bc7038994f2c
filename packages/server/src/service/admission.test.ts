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

describe("capacity that follows the machine", () => {
  it("is measured again once the server is idle, and follows the engine's speed", async () => {
    const { stubAvatar } = await import("../../test/stub-avatar.js");
    const options = { runMs: 40, maxBatch: 8 };
    const stub = stubAvatar(options);
    const stats = new Stats();
    const a = new Admission(resolveConfig({ capacityRemeasureIdleSeconds: 0.3, maxBatch: 8 }), stats, silentLogger(), () => [stub.avatar]);
    try {
      await a.measure(stub.avatar);
      const slow = a.capacity(stub.avatar);
      // The machine is no longer busy: the model runs four times faster.
      options.runMs = 10;
      const lease = a.admit(stub.avatar, false, undefined);
      await new Promise((r) => setTimeout(r, 600));
      expect(a.capacity(stub.avatar).engineFps, "no re-measurement while a session is live").toBe(slow.engineFps);
      lease.release();
      await expect.poll(() => a.capacity(stub.avatar).engineFps, { timeout: 10_000, interval: 100 }).toBeGreaterThan(2 * slow.engineFps);
      expect(a.capacity(stub.avatar).sessions).toBeGreaterThan(slow.sessions);
      // The figure a load balancer and an autoscaler read.
      const text = await stats.registry.metrics();
      expect(text).toMatch(new RegExp(`lipsync_capacity_sessions\\{avatar="stub",frames="whole"\\} ${a.capacity(stub.avatar).sessions}`));
      expect(text).toMatch(/lipsync_capacity_used 0\n/);
    } finally {
      a.close();
      stub.close();
    }
  });
});
