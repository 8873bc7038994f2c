/**
 * The access log (--access-log) on a real server with tokens: one line per RPC (unary and
 * streaming, refused ones too) and per WebSocket connection, naming the method, its status,
 * the caller as auth.ts names it, bytes and duration, and never the token.
 */
import { Writable } from "node:stream";
import { Code } from "@connectrpc/connect";
import { createLipSyncClient } from "@lipsync/client/node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.js";
import { codeOf, socketUrl, speechLikePcm, testServer, wsSession } from "./harness.js";
import { until } from "./wait.js";

const TOKEN = "access-log-token-7f3e";

interface Line {
  log: string;
  kind: string;
  method: string;
  protocol?: string;
  status: string | number;
  ms: number;
  client: string;
  bytes_in: number;
  bytes_out: number;
  messages_in?: number;
}

const lines: Line[] = [];
const raw: string[] = [];
let server: RunningServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l) as Line);
      }
      done();
    },
  });
  server = await testServer({ authTokens: [TOKEN], accessLog: true, accessLogger: pino({ level: "info" }, sink) });
});
afterAll(() => server?.close());

const rpcLines = (method: string) => lines.filter((l) => l.kind === "rpc" && l.method === `lipsync.v1.LipSyncService/${method}`);

describe("the access log", () => {
  it("writes a line per unary RPC with its status, caller and bytes, on every protocol", async () => {
    for (const protocol of ["grpc", "grpc-web", "connect"] as const) {
      await createLipSyncClient({ baseUrl: server.url, protocol, token: TOKEN }).renderFrame("demo", 3);
    }
    await until(() => rpcLines("RenderFrame").length === 3, "three RenderFrame lines", 5000);
    const byProtocol: Record<string, Line> = Object.fromEntries(rpcLines("RenderFrame").map((l) => [l.protocol, l]));
    expect(Object.keys(byProtocol).sort()).toEqual(["connect", "grpc", "grpc-web"]);
    for (const l of Object.values(byProtocol)) {
      expect(l).toMatchObject({ log: "access", status: "OK", client: expect.stringMatching(/^token:[0-9a-f]{12}$/) });
      // A JPEG of the 512 x 512 frame went out; a few bytes of request came in.
      expect(l.bytes_out).toBeGreaterThan(5000);
      expect(l.bytes_in).toBeGreaterThan(4);
      expect(l.ms).toBeGreaterThanOrEqual(0);
    }
  });

  it("names refused calls by their address and status", async () => {
    expect(await codeOf(createLipSyncClient({ baseUrl: server.url, token: "wrong" }).listAvatars())).toBe(Code.Unauthenticated);
    await until(() => rpcLines("ListAvatars").length === 1, "the ListAvatars line", 5000);
    expect(rpcLines("ListAvatars")[0]).toMatchObject({ status: "Unauthenticated", client: "addr:127.0.0.1" });
  });

  it("writes one line for a server stream when it ends", async () => {
    const client = createLipSyncClient({ baseUrl: server.url, protocol: "connect", token: TOKEN });
    let frames = 0;
    for await (const e of client.speakAudio("demo", speechLikePcm(0.4), { encoding: "pcm_s16le", sampleRate: 16000 })) if (e.type === "frame") frames++;
    expect(frames).toBeGreaterThan(0);
    await until(() => rpcLines("SpeakAudio").length === 1, "the SpeakAudio line", 5000);
    const l = rpcLines("SpeakAudio")[0]!;
    expect(l).toMatchObject({ status: "OK", protocol: "connect" });
    expect(l.bytes_in).toBeGreaterThan(12_800);
    expect(l.bytes_out).toBeGreaterThan(frames * 1000);
  });

  it("writes a line per WebSocket connection, refused ones too, with its close code", async () => {
    const s = await wsSession(socketUrl(server.url), { protocols: ["lipsync", `bearer.${TOKEN}`] });
    expect(s.started).toBe(true);
    s.ws.close(1000);
    const refused = await wsSession(`${socketUrl(server.url)}?token=nope`);
    expect(refused.code).toBe(4401);
    await until(() => lines.filter((l) => l.kind === "websocket").length === 2, "two WebSocket lines", 5000);
    const [ok, no] = lines.filter((l) => l.kind === "websocket");
    expect(ok).toMatchObject({ method: "/ws", status: 1000, client: expect.stringMatching(/^token:/), messages_in: 1 });
    expect(ok!.bytes_out).toBeGreaterThan(0);
    expect(no).toMatchObject({ status: 4401, client: "addr:127.0.0.1" });
  });

  it("never holds the token", () => {
    expect(raw.length).toBeGreaterThan(0);
    for (const l of raw) expect(l).not.toContain(TOKEN);
  });
});
