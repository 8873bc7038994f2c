import { readFileSync } from "node:fs";
import path from "node:path";
import { Code } from "@connectrpc/connect";
import { createLipSyncClient } from "@lipsync/client/node";
import selfsigned from "selfsigned";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.js";
import { codeOf, testServer } from "./harness.js";
import { MODELS_DIR } from "./reference.js";

const JPEG_MAGIC = [0xff, 0xd8, 0xff];

let plain: RunningServer;
let tls: RunningServer;
let cert: string;

beforeAll(async () => {
  const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048, notAfterDate: new Date(Date.now() + 86_400_000), extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] }],
  });
  cert = pems.cert;
  plain = await testServer();
  tls = await testServer({ tls: { cert: pems.cert, key: pems.private } });
});

afterAll(async () => {
  await plain?.close();
  await tls?.close();
});

// Bidirectional streams need HTTP/2; over HTTP/1.1 the server answers 505 (as Connect specifies)
// and the Node client refuses speak() up front.
const protocols = [
  { name: "gRPC (h2c)", bidi: true, make: () => createLipSyncClient({ baseUrl: plain.url, protocol: "grpc" }) },
  { name: "gRPC over TLS", bidi: true, make: () => createLipSyncClient({ baseUrl: `https://localhost:${tls.port}`, protocol: "grpc", nodeOptions: { ca: cert } }) },
  { name: "gRPC-Web", bidi: false, make: () => createLipSyncClient({ baseUrl: plain.url, protocol: "grpc-web", httpVersion: "1.1" }) },
  { name: "gRPC-Web over h2c", bidi: true, make: () => createLipSyncClient({ baseUrl: plain.url, protocol: "grpc-web" }) },
  { name: "Connect JSON", bidi: false, make: () => createLipSyncClient({ baseUrl: plain.url, protocol: "connect", format: "json", httpVersion: "1.1" }) },
  { name: "Connect binary", bidi: false, make: () => createLipSyncClient({ baseUrl: plain.url, protocol: "connect", format: "binary", httpVersion: "1.1" }) },
  { name: "Connect over h2c (the default)", bidi: true, make: () => createLipSyncClient({ baseUrl: plain.url, protocol: "connect" }) },
  { name: "Connect over HTTP/2 TLS", bidi: true, make: () => createLipSyncClient({ baseUrl: `https://localhost:${tls.port}`, protocol: "connect", httpVersion: "2", nodeOptions: { ca: cert } }) },
];

describe.each(protocols)("every RPC over $name", ({ make, bidi }) => {
  it("lists, describes, loads, renders and reports", async () => {
    const c = make();
    const avatars = await c.listAvatars();
    expect(avatars.map((a) => a.name)).toContain("demo");
    const demo = avatars.find((a) => a.name === "demo")!;
    expect(demo.loaded).toBe(true);
    expect(demo.frameCount).toBeGreaterThanOrEqual(100);

    const info = await c.getAvatar("demo");
    expect(info.cropBoxes).toHaveLength(demo.frameCount);
    expect(info.avatar?.model?.lookaheadFrames).toBeGreaterThan(0);

    const loaded = await c.rpc.loadAvatar({ name: "demo" });
    expect(loaded.avatar?.loaded).toBe(true);

    const source = await c.sourceFrame("demo", 3);
    expect([...source.image.subarray(0, 3)]).toEqual(JPEG_MAGIC);
    expect(source.width).toBe(demo.width);
    const crop = await c.sourceFrame("demo", 3, "masked-crop");
    expect(crop.width).toBe(info.avatar?.model?.inputSize);

    const frame = await c.renderFrame("demo", 40);
    expect([...frame.image.subarray(0, 3)]).toEqual(JPEG_MAGIC);
    expect(frame.pts).toBe(40 * 640);
    expect(frame.timings!.inferenceMs).toBeGreaterThan(0);
    expect(frame.mouthBox!.width).toBeGreaterThan(0);

    const frames = await c.renderFrames("demo", [5, 6, 7, 8]);
    expect(frames.map((f) => f.sourceIndex)).toEqual([5, 6, 7, 8]);

    if (bidi) {
      const streamed: number[] = [];
      async function* reqs() {
        for (const index of [10, 11, 12]) yield { avatar: "demo", index };
      }
      for await (const r of c.rpc.streamRender(reqs())) streamed.push(r.frame!.sourceIndex);
      expect(streamed).toEqual([10, 11, 12]);
    } else {
      expect(() => c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } })).toThrow(/speak\(\) needs a bidirectional stream/);
    }

    const stats = await c.stats();
    expect(Number(stats.framesRendered)).toBeGreaterThan(0);
    expect(stats.stages.find((s) => s.stage === "inference")!.p50Ms).toBeGreaterThan(0);
  });

  it("answers bad input with proper status codes", async () => {
    const c = make();
    expect(await codeOf(c.renderFrame("nobody", 0))).toBe(Code.NotFound);
    expect(await codeOf(c.renderFrame("demo", 100000))).toBe(Code.InvalidArgument);
    expect(await codeOf(c.sourceFrame("demo", 125))).toBe(Code.InvalidArgument);
    expect(await codeOf(c.rpc.loadAvatar({ name: "../demo" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(c.rpc.loadAvatar({ name: "/etc" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(c.rpc.loadAvatar({ name: "demo/../../x" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(c.renderFrames("demo", Array.from({ length: 300 }, (_, i) => i % 100)))).toBe(Code.ResourceExhausted);
  });
});

describe("one port", () => {
  it("answers health checks over gRPC and HTTP", async () => {
    const { createClient } = await import("@connectrpc/connect");
    const { createGrpcTransport } = await import("@connectrpc/connect-node");
    const { health } = await import("@lipsync/proto");
    const h = createClient(health.Health, createGrpcTransport({ baseUrl: plain.url }));
    expect((await h.check({ service: "" })).status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
    expect(await codeOf(h.check({ service: "nope" }))).toBe(Code.NotFound);
    const res = await fetch(`${plain.url}/healthz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("ok");
  });

  it("serves Prometheus metrics", async () => {
    const text = await (await fetch(`${plain.url}/metrics`)).text();
    expect(text).toContain("lipsync_requests_total");
    expect(text).toContain("lipsync_stage_seconds_bucket");
  });

  it("rejects oversized messages with RESOURCE_EXHAUSTED", async () => {
    const small = await testServer({ maxMessageBytes: 64 * 1024 });
    try {
      const c = createLipSyncClient({ baseUrl: small.url, protocol: "grpc" });
      const big = new Uint8Array(200 * 1024);
      expect(await codeOf((async () => {
        for await (const _ of c.speakAudio("demo", big)) void _;
      })())).toBe(Code.ResourceExhausted);
    } finally {
      await small.close();
    }
  });

  it("serves a curl-style Connect JSON call without a client library", async () => {
    const res = await fetch(`${plain.url}/lipsync.v1.LipSyncService/GetAvatar`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "demo" }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { avatar: { name: string } };
    expect(body.avatar.name).toBe("demo");
    const bad = await fetch(`${plain.url}/lipsync.v1.LipSyncService/GetAvatar`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "ghost" }),
    });
    expect(bad.status).toBe(404);
    const text = await bad.text();
    expect(text).not.toMatch(/\/work|\/tmp|\.ts:|at /);
  });

  it("keeps the package's manifest the loader validated", () => {
    const manifest = JSON.parse(readFileSync(path.join(MODELS_DIR, "demo", "manifest.json"), "utf8"));
    expect(manifest.format).toBe("lipsync-avatar");
  });
});
