import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { keepAlive, type PingableSession } from "./h2-keepalive.js";

/** A session whose peer answers pings (or not), and that can be closing. */
function fakeSession(answers: "ack" | "never" | "cancel") {
  const s = {
    destroyed: false, closed: false, pings: 0,
    ping(cb: (err: Error | null) => void) {
      s.pings++;
      if (answers === "ack") setTimeout(() => cb(null), 10);
      if (answers === "cancel") setTimeout(() => cb(new Error("ERR_HTTP2_PING_CANCEL")), 0);
      return answers !== "cancel";
    },
    destroy() {
      s.destroyed = true;
    },
    once: () => s,
  };
  return s;
}

describe("HTTP/2 keepalive", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  const start = (s: ReturnType<typeof fakeSession>, grace?: number) => keepAlive(s as unknown as PingableSession, 1000, grace, () => Date.now());

  it("keeps a session whose peer answers every ping", async () => {
    const s = fakeSession("ack");
    start(s);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.destroyed).toBe(false);
    expect(s.pings).toBe(10);
  });

  it("destroys a session whose ping goes unanswered by the next one", async () => {
    const s = fakeSession("never");
    start(s);
    await vi.advanceTimersByTimeAsync(1500);
    expect(s.destroyed).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.destroyed).toBe(true);
  });

  it("destroys a session whose ping Node cancels", async () => {
    const s = fakeSession("cancel");
    start(s);
    await vi.advanceTimersByTimeAsync(2500);
    expect(s.destroyed).toBe(true);
  });

  it("gives a session closing gracefully its grace, then destroys it", async () => {
    const s = fakeSession("cancel");
    s.closed = true;
    start(s, 5000);
    await vi.advanceTimersByTimeAsync(5500);
    expect(s.destroyed).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.destroyed).toBe(true);
  });
});
