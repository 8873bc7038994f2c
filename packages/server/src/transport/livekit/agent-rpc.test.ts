import { describe, expect, it } from "vitest";
import { silentLogger } from "../../logger.js";
import { agentRule, findAgent } from "./agent.js";
import { AgentReports, type PerformRpc } from "./agent-rpc.js";

describe("which participant is the agent", () => {
  const people = [{ identity: "viewer", isAgent: false }, { identity: "avatar", isAgent: true }, { identity: "agent-a", isAgent: true }, { identity: "agent-b", isAgent: true }];
  it("the identity asked for, else the token's lk.publish_on_behalf, else the first agent but the avatar itself", () => {
    expect(findAgent(agentRule("agent-b", "agent-a"), people, "avatar")).toBe("agent-b");
    expect(findAgent(agentRule("", "agent-b"), people, "avatar")).toBe("agent-b");
    expect(findAgent(agentRule("", undefined), people, "avatar")).toBe("agent-a");
    expect(findAgent(agentRule("", "not-here"), people, "avatar")).toBeUndefined();
    expect(findAgent(agentRule("", undefined), people.slice(0, 2), "avatar")).toBeUndefined();
  });
});

describe("AgentReports", () => {
  function recorder(fail: (method: string, attempt: number) => unknown = () => undefined) {
    const calls: { method: string; payload: string; at: number }[] = [];
    const perform: PerformRpc = async (p) => {
      const attempt = calls.filter((c) => c.method === p.method).length + 1;
      calls.push({ method: p.method, payload: p.payload, at: performance.now() });
      const err = fail(p.method, attempt);
      if (err) throw err;
      return "ok";
    };
    return { calls, perform };
  }

  it("sends playback_started and playback_finished in order, with LiveKit's payloads", async () => {
    const r = recorder();
    const reports = new AgentReports(r.perform, () => "agent", silentLogger());
    reports.playbackStarted();
    reports.playbackFinished(1.5, true);
    await reports.idle();
    expect(r.calls.map((c) => [c.method, c.payload])).toEqual([["lk.playback_started", ""], ["lk.playback_finished", '{"playback_position":1.5,"interrupted":true}']]);
  });

  it("tries a failing report 3 times 0.1 s apart, then moves on", async () => {
    const r = recorder((m) => (m === "lk.playback_finished" ? { code: 1501 } : undefined));
    const reports = new AgentReports(r.perform, () => "agent", silentLogger());
    reports.playbackFinished(2, false);
    reports.playbackStarted();
    await reports.idle();
    const finished = r.calls.filter((c) => c.method === "lk.playback_finished");
    expect(finished).toHaveLength(3);
    expect(finished[2]!.at - finished[0]!.at).toBeGreaterThanOrEqual(190);
    expect(r.calls.at(-1)!.method).toBe("lk.playback_started");
  });

  it("does not retry a method the agent never registered, nor report with no agent", async () => {
    const r = recorder(() => ({ code: 1400 }));
    const reports = new AgentReports(r.perform, () => "agent", silentLogger());
    reports.playbackStarted();
    await reports.idle();
    expect(r.calls).toHaveLength(1);
    const none = recorder();
    const orphan = new AgentReports(none.perform, () => undefined, silentLogger());
    orphan.playbackFinished(1, false);
    await orphan.idle();
    expect(none.calls).toEqual([]);
  });

  it("drops what is still queued once closed", async () => {
    const r = recorder();
    const reports = new AgentReports(r.perform, () => "agent", silentLogger());
    reports.playbackStarted();
    reports.playbackFinished(1, false);
    await reports.close();
    reports.playbackStarted();
    await reports.idle();
    expect(r.calls.length).toBeLessThanOrEqual(1);
  });
});
