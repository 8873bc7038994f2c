/**
 * Room sessions given bad input and faults, against a real livekit-server and `lipsync serve`:
 * a clear status before joining where one is possible, otherwise one log line and a clean
 * leave; never a crash, a hang, an avatar left in the room or capacity held.
 */
import net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLipSyncClient } from "@lipsync/client/node";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWav } from "../../../e2e/livekit-agent.js";
import { avatarReference, resamplePcm, setupRoom, until, type AvatarReference } from "../../../e2e/livekit-room.js";
import { liveKitServerBinary, startLiveKitServer, type LiveKitServer } from "../../../e2e/livekit-server.js";
import { mintToken } from "../../../e2e/livekit-token.js";
import { startLipSync, type LipSyncProcess } from "../../../e2e/lipsync-process.js";

const binary = liveKitServerBinary();
const missing = "missing" in binary ? binary.missing : undefined;
if (missing) console.warn(`skipping the LiveKit fault tests: ${missing}`);

const CAPACITY = 2;
let lk: LiveKitServer;
let server: LipSyncProcess;
let rooms: RoomServiceClient;
let rpc: ReturnType<typeof createLipSyncClient>["rpc"];
let ref: AvatarReference & { name: string };

async function codeOf(p: Promise<unknown>): Promise<{ code: Code | undefined; message: string }> {
  try {
    await p;
    return { code: undefined, message: "" };
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
}

const avatarToken = (room: string, o: { ttl?: number; secret?: string } = {}) =>
  mintToken({ apiKey: lk.apiKey, apiSecret: o.secret ?? lk.apiSecret }, { room, identity: "lipsync-avatar", kind: "agent", attributes: { "lk.publish_on_behalf": "agent" }, ...(o.ttl !== undefined ? { ttl: o.ttl } : {}) });

async function participants(room: string): Promise<string[]> {
  try {
    return (await rooms.listParticipants(room)).map((p) => p.identity);
  } catch {
    return []; // no such room (yet, or any more)
  }
}

async function activeSessions(): Promise<number> {
  return (await rpc.getStats({})).activeSessions;
}

describe.skipIf(missing !== undefined)("room sessions given bad input and faults", () => {
  beforeAll(async () => {
    lk = await startLiveKitServer();
    server = await startLipSync(["--preload", "demo", "--capacity", String(CAPACITY)]);
    rpc = createLipSyncClient({ baseUrl: server.url, protocol: "connect", httpVersion: "1.1" }).rpc;
    rooms = new RoomServiceClient(lk.httpUrl, lk.apiKey, lk.apiSecret);
    ref = { name: "demo", ...(await avatarReference(rpc, "demo")) };
  });
  afterAll(async () => {
    await server?.stop();
    await lk?.stop();
  });

  it("refuses before joining: no URL, a URL that is not ws(s), a token that is not a JWT, an expired token, an unknown avatar", async () => {
    const token = await avatarToken("bad-input");
    const cases: [Parameters<typeof rpc.startRoomSession>[0], Code, RegExp][] = [
      [{ avatar: "demo", livekitUrl: "", token }, Code.InvalidArgument, /livekit_url is required/],
      [{ avatar: "demo", livekitUrl: "ftp://127.0.0.1/", token }, Code.InvalidArgument, /must be ws:\/\//],
      [{ avatar: "demo", livekitUrl: lk.url, token: "not-a-token" }, Code.InvalidArgument, /not a LiveKit participant token/],
      [{ avatar: "demo", livekitUrl: lk.url, token: await avatarToken("bad-input", { ttl: -60 }) }, Code.InvalidArgument, /token expired/],
      [{ avatar: "nobody", livekitUrl: lk.url, token }, Code.NotFound, /demo/],
    ];
    for (const [req, code, message] of cases) {
      const r = await codeOf(rpc.startRoomSession(req));
      expect(r.code, JSON.stringify(req).slice(0, 80)).toBe(code);
      expect(r.message).toMatch(message);
      expect(r.message).not.toContain(token);
    }
    expect(await participants("bad-input")).toEqual([]);
    expect(await activeSessions()).toBe(0);
  });

  it("a token LiveKit refuses is INVALID_ARGUMENT without the token in the message; an unreachable LiveKit is UNAVAILABLE", async () => {
    const forged = await avatarToken("refused", { secret: "not-this-servers-secret" });
    const refused = await codeOf(rpc.startRoomSession({ avatar: "demo", livekitUrl: lk.url, token: forged }));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.message).toMatch(/LiveKit refused the token/);
    expect(refused.message).not.toContain(forged.split(".")[1]);
    // A port nothing listens on.
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const t = performance.now();
    const unreachable = await codeOf(rpc.startRoomSession({ avatar: "demo", livekitUrl: `ws://127.0.0.1:${closed}`, token: await avatarToken("refused") }));
    expect(unreachable.code).toBe(Code.Unavailable);
    expect(unreachable.message).toMatch(/could not reach LiveKit/);
    expect(performance.now() - t).toBeLessThan(16_000);
    expect(await participants("refused")).toEqual([]);
    expect(await activeSessions()).toBe(0);
  });

  it("past capacity: RESOURCE_EXHAUSTED before joining, and the sessions held are released when they stop", async () => {
    const held = [];
    for (let i = 0; i < CAPACITY; i++) held.push(await setupRoom(lk, rpc, ref));
    try {
      const token = await avatarToken("one-too-many");
      const r = await codeOf(rpc.startRoomSession({ avatar: "demo", livekitUrl: lk.url, token }));
      expect(r.code).toBe(Code.ResourceExhausted);
      expect(await participants("one-too-many")).toEqual([]);
      expect(await activeSessions()).toBe(CAPACITY);
    } finally {
      for (const r of held) await r.close();
    }
    expect(await activeSessions()).toBe(0);
  });

  it("StopRoomSession leaves the room; stopping it again, or an unknown id, says stopped: false", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has(), "the avatar's tracks");
      expect(await participants(r.room)).toContain(r.avatarIdentity);
      expect((await rpc.stopRoomSession({ sessionId: r.sessionId })).stopped).toBe(true);
      expect(await participants(r.room)).not.toContain(r.avatarIdentity);
      expect((await rpc.stopRoomSession({ sessionId: r.sessionId })).stopped).toBe(false);
      expect((await rpc.stopRoomSession({ sessionId: "no-such-session" })).stopped).toBe(false);
      expect(await activeSessions()).toBe(0);
    } finally {
      await r.close();
    }
  });

  it("a stream without sample_rate is refused and the session plays the next one; clear_buffer from another participant is rejected", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has(), "the avatar's tracks");
      const wav = readWav("/usr/share/asterisk/sounds/en_US_f_Allison/auth-thankyou.wav");
      const pcm = resamplePcm(wav.pcm, wav.rate, 24_000);
      await r.agent.say(r.avatarIdentity, pcm, 24_000, { attributes: { num_channels: "1" } });
      await r.agent.say(r.avatarIdentity, pcm, 24_000, { attributes: { sample_rate: "not-a-rate", num_channels: "1" } });
      await r.agent.say(r.avatarIdentity, pcm, 24_000);
      await until(() => r.agent.finished().length > 0, "lk.playback_finished of the good stream", 15_000);
      expect(r.agent.finished().map((f) => f.payload)).toEqual([{ playback_position: pcm.length / 24_000, interrupted: false }]);
      const reply = await r.viewer.room.localParticipant!.performRpc({ destinationIdentity: r.avatarIdentity, method: "lk.clear_buffer", payload: "" });
      expect(reply).toBe("reject");
      // One log line each, saying why.
      const refusals = server.output().split("\n").filter((l) => l.includes("room audio stream refused"));
      expect(refusals).toHaveLength(2);
      expect(refusals[0]).toMatch(/without the sample_rate and num_channels/);
      expect(refusals[1]).toMatch(/sample_rate must be an integer/);
      expect(await activeSessions()).toBe(1);
    } finally {
      await r.close();
    }
  });

  it("the agent leaving mid-utterance ends the session: the avatar leaves and its capacity is free", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has(), "the avatar's tracks");
      const wav = readWav("/usr/share/asterisk/sounds/en_US_f_Allison/demo-congrats.wav");
      const pcm = resamplePcm(wav.pcm, wav.rate, 24_000);
      const stop = new AbortController();
      const sending = r.agent.say(r.avatarIdentity, pcm, 24_000, { realtime: true, signal: stop.signal }).catch(() => undefined);
      await until(() => r.agent.reports.some((x) => x.method === "lk.playback_started"), "lk.playback_started", 15_000);
      stop.abort();
      await r.agent.close();
      await sending;
      const deadline = Date.now() + 10_000;
      while ((await participants(r.room)).includes(r.avatarIdentity) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      expect(await participants(r.room)).not.toContain(r.avatarIdentity);
      await until(() => /"reason":"agent left"/.test(server.output()), "the session's one log line");
      expect(await activeSessions()).toBe(0);
    } finally {
      await r.close();
    }
  });

  it("a server shutting down leaves its rooms", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has(), "the avatar's tracks");
      await server.stop();
      expect(await participants(r.room)).not.toContain(r.avatarIdentity);
      expect(server.output()).toMatch(/"reason":"server shutting down"/);
    } finally {
      await r.close();
    }
  });
});
