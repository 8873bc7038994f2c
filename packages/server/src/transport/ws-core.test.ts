/** The WebSocket protocol core fed plain bytes, without a socket: what it sends and how it closes. */
import { decodeError, MSG_INFERENCE, MSG_SOURCE_FRAME } from "@lipsync/proto/ws-binary";
import { afterEach, describe, expect, it } from "vitest";
import { LipSyncApp } from "../app.js";
import { resolveConfig } from "../config.js";
import { silentLogger } from "../logger.js";
import { WsConnection, type WsPeer } from "./ws-core.js";

class FakePeer implements WsPeer {
  open = true;
  sent: (string | Uint8Array)[] = [];
  closed: { code: number; reason: string } | undefined;
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  sendAsync(data: string | Uint8Array): Promise<void> {
    this.send(data);
    return Promise.resolve();
  }
  close(code: number, reason: string): void {
    this.open = false;
    this.closed = { code, reason };
  }
  json(): Record<string, unknown>[] {
    return this.sent.filter((m): m is string => typeof m === "string").map((m) => JSON.parse(m) as Record<string, unknown>);
  }
}

const apps: LipSyncApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

function connection(): { core: WsConnection; peer: FakePeer } {
  const app = new LipSyncApp(resolveConfig({ avatarRoots: [] }), silentLogger());
  apps.push(app);
  const peer = new FakePeer();
  return { core: new WsConnection(app, peer), peer };
}

const text = (s: string) => new TextEncoder().encode(s);

/** A binary request naming an avatar, as docs/protocol.md lays it out. */
function sourceFrameRequest(requestId: number, avatar: string, frame: number, view: number): Uint8Array {
  const name = text(avatar);
  const out = new Uint8Array(1 + 4 + 2 + name.length + 4 + 1);
  const v = new DataView(out.buffer);
  v.setUint8(0, MSG_SOURCE_FRAME);
  v.setUint32(1, requestId, true);
  v.setUint16(5, name.length, true);
  out.set(name, 7);
  v.setUint32(7 + name.length, frame, true);
  v.setUint8(11 + name.length, view);
  return out;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setImmediate(r));
  expect(check()).toBe(true);
};

describe("WebSocket protocol core", () => {
  it("closes with 4400 and names the problem for a text message that is not JSON", () => {
    const { core, peer } = connection();
    core.onMessage(text("{nope"), false);
    expect(peer.closed).toEqual({ code: 4400, reason: "message is not valid JSON" });
  });

  it("closes with 4400 for an unknown message type", () => {
    const { core, peer } = connection();
    core.onMessage(text(JSON.stringify({ type: "dance" })), false);
    expect(peer.closed?.code).toBe(4400);
    expect(peer.closed?.reason).toContain('"dance"');
  });

  it("closes with 4412 for audio before start, JSON or binary", () => {
    for (const [bytes, binary] of [[text(JSON.stringify({ type: "audio", data: "AAAA" })), false], [Uint8Array.from([0x01, 0, 0]), true]] as const) {
      const { core, peer } = connection();
      core.onMessage(bytes, binary);
      expect(peer.closed).toEqual({ code: 4412, reason: '"audio" before "start"' });
    }
  });

  it("closes with 4400 for a truncated binary request, naming the field", () => {
    const { core, peer } = connection();
    core.onMessage(Uint8Array.from([MSG_INFERENCE, 1, 0, 0, 0, 9, 0]), true);
    expect(peer.closed?.code).toBe(4400);
    expect(peer.closed?.reason).toMatch(/^truncated inference message: name needs 9 bytes/);
  });

  it("closes with 4404 for a session of an unknown avatar", async () => {
    const { core, peer } = connection();
    core.onMessage(text(JSON.stringify({ type: "start", avatar: "nobody", sample_rate: 16000 })), false);
    await until(() => peer.closed !== undefined);
    expect(peer.closed?.code).toBe(4404);
  });

  it("answers a failed binary request with an ERROR message and stays open", async () => {
    const { core, peer } = connection();
    core.onMessage(sourceFrameRequest(7, "nobody", 0, 0), true);
    await until(() => peer.sent.length === 1);
    expect(peer.open).toBe(true);
    const e = decodeError(peer.sent[0] as Uint8Array);
    expect(e).toMatchObject({ status: 404, requestId: 7 });
    expect(e.message).toContain("nobody");
  });

  it("answers a failed JSON request with an error message and stays open", async () => {
    const { core, peer } = connection();
    core.onMessage(text(JSON.stringify({ model_name: "nobody", frame_id: 0, request_id: "r1" })), false);
    await until(() => peer.sent.length === 1);
    expect(peer.open).toBe(true);
    expect(peer.json()[0]).toMatchObject({ type: "error", success: false, code: "not_found", request_id: "r1" });
  });

  it("answers get_stats with the server's counters", () => {
    const { core, peer } = connection();
    core.onMessage(text(JSON.stringify({ type: "get_stats" })), false);
    expect(peer.json()[0]).toMatchObject({ type: "stats", active_sessions: 0 });
    expect(peer.open).toBe(true);
  });
});
