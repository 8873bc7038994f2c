/**
 * Capacity and cancellation on a real server: sessions past the capacity are refused with a
 * retry hint and readiness says so; work a client abandoned is never rendered; an unload racing
 * a render answers a retryable status, never INTERNAL.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { createLipSyncClient } from "@lipsync/client/node";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.js";
import { socketUrl, testServer, wsSession } from "./harness.js";

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A WebSocket session of mouth patches at `url` (http://host:port). */
const openWsSession = (url: string) => wsSession(socketUrl(url), { start: { patch: true } });

const readyz = async (url: string) => {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as { ready: boolean; reason: string } };
};

describe("admission by capacity", () => {
  it("refuses the session past capacity with a retry hint, says NOT_SERVING, and admits again when one ends", async () => {
    server = await testServer({ sessionCapacity: 2 });
    const url = server.url;
    const a = await openWsSession(url);
    const b = await openWsSession(url);
    expect([a.started, b.started]).toEqual([true, true]);
    expect(await readyz(url)).toMatchObject({ status: 503, body: { ready: false, reason: "at capacity" } });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);

    const c = await openWsSession(url);
    expect(c.started).toBe(false);
    expect(c.code).toBe(4429);
    expect(c.reason).toMatch(/at capacity.*retry in 2 s/);

    const client = createLipSyncClient({ baseUrl: url, protocol: "grpc" });
    const s = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } });
    const err = await (async () => {
      try {
        for await (const e of s.events) void e;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).metadata.get("retry-after")).toBe("2");

    a.ws.close();
    await expect.poll(async () => (await readyz(url)).status, { timeout: 5000 }).toBe(200);
    const d = await openWsSession(url);
    expect(d.started).toBe(true);
    b.ws.close();
    d.ws.close();
  });

  it("measures the engine at load and reports the capacity it admits", async () => {
    server = await testServer({ sessionCapacity: 0 });
    const client = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
    const { avatar } = await client.rpc.getAvatar({ name: "demo" });
    const cap = avatar!.capacity!;
    expect(cap.measured).toBe(true);
    expect(cap.engineFps).toBeGreaterThan(0);
    expect(cap.sessions).toBeGreaterThanOrEqual(1);
    expect(cap.engineFpsMouthPatch).toBeGreaterThan(0);
    expect(cap.sessions).toBe(Math.max(1, Math.floor((cap.engineFps * server.config.capacityUtilisation) / 25)));
  });
});

describe("cancellation", () => {
  it("never renders the frames of RenderFrames calls whose clients went away", async () => {
    server = await testServer();
    const url = server.url;
    const indices = Array.from({ length: 256 }, (_, i) => i % 125);
    const calls = Array.from({ length: 4 }, () => {
      const controller = new AbortController();
      const done = fetch(`${url}/lipsync.v1.LipSyncService/RenderFrames`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ avatar: "demo", indices }), signal: controller.signal,
      }).catch(() => undefined);
      return { controller, done };
    });
    const client = createLipSyncClient({ baseUrl: url, protocol: "connect" });
    await expect.poll(async () => Number((await client.rpc.getStats({})).framesRendered), { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
    for (const c of calls) c.controller.abort();
    await Promise.all(calls.map((c) => c.done));
    // Queued behind the abandoned work if it were still there: answered only once it is gone.
    const frame = await client.renderFrame("demo", 3);
    expect(frame.image.byteLength).toBeGreaterThan(0);
    const rendered = Number((await client.rpc.getStats({})).framesRendered);
    expect(rendered).toBeLessThan(4 * 256 / 2);
  });

  it("answers a render racing an unload with a retryable status, never INTERNAL", async () => {
    server = await testServer();
    const client = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
    const indices = Array.from({ length: 64 }, (_, i) => i);
    for (let round = 0; round < 3; round++) {
      const render = client.renderFrames("demo", indices).then((frames) => frames, (e: unknown) => e);
      await client.rpc.unloadAvatar({ name: "demo" });
      const outcome = await render;
      if (Array.isArray(outcome)) {
        // The render won the race: whole, every frame there.
        expect(outcome).toHaveLength(indices.length);
      } else {
        expect(outcome).toBeInstanceOf(ConnectError);
        expect([Code.Unavailable, Code.Canceled]).toContain((outcome as ConnectError).code);
      }
    }
    // Whatever the race did, the avatar loads again on use and renders.
    expect((await client.renderFrame("demo", 3)).image.byteLength).toBeGreaterThan(0);
  });
});
