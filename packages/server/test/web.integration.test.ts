// The port as the web and other gRPC stacks see it: origins (CORS and the WebSocket's Origin
// check), hostile static paths, unknown methods in every protocol, health, reflection, metrics.
import { spawn } from "node:child_process";
import http2 from "node:http2";
import net from "node:net";
import path from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createLipSyncClient } from "@lipsync/client/node";
import { health } from "@lipsync/proto";
import { v1, v1alpha } from "@lipsync/proto/reflection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningServer } from "../src/server.js";
import { defaultStaticMounts, REPO_ROOT } from "../src/static-mounts.js";
import { codeOf, speechLikePcm, testServer } from "./harness.js";

const ALLOWED = "http://allowed.example";
const REFUSED = "http://evil.example";

let server: RunningServer;
beforeAll(async () => {
  server = await testServer({ allowOrigins: [ALLOWED], staticMounts: defaultStaticMounts() });
});
afterAll(() => server?.close());

const connectCall = (origin?: string, method = "POST") =>
  fetch(`${server.url}/lipsync.v1.LipSyncService/ListAvatars`, {
    method, headers: { "content-type": "application/json", ...(origin ? { origin } : {}) }, body: method === "POST" ? "{}" : undefined,
  });

const preflight = (origin: string) =>
  fetch(`${server.url}/lipsync.v1.LipSyncService/ListAvatars`, {
    method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,connect-protocol-version" },
  });

/** Opens /ws with an Origin header; resolves "open" or the HTTP status of the refusal. */
function openSocket(url: string, origin?: string): Promise<"open" | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws`, origin ? { origin } : {});
    const timer = setTimeout(() => reject(new Error("no answer to the upgrade in 10 s")), 10_000);
    ws.on("open", () => {
      clearTimeout(timer);
      ws.close();
      resolve("open");
    });
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
    });
    ws.on("error", () => undefined);
  });
}

describe("origins", () => {
  it("answers an allowed origin's preflight with connect-es's CORS headers", async () => {
    const res = await preflight(ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = res.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const h of ["content-type", "connect-protocol-version", "x-grpc-web", "grpc-timeout"]) expect(allowed).toContain(h);
    const call = await connectCall(ALLOWED);
    expect(call.status).toBe(200);
    expect(call.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(call.headers.get("access-control-expose-headers")!.toLowerCase()).toContain("grpc-status");
    expect(call.headers.get("vary")).toContain("Origin");
  });

  it("refuses a preflight and a call from an origin not allowed with 403 and a reason", async () => {
    const res = await preflight(REFUSED);
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await res.text()).toContain(`--allow-origin ${REFUSED}`);
    expect((await connectCall(REFUSED)).status).toBe(403);
    expect((await fetch(`${server.url}/lip-sync-player.bundle.js`, { headers: { origin: REFUSED } })).status).toBe(403);
  });

  it("serves requests without an Origin and from the server's own origin, without CORS headers", async () => {
    const bare = await connectCall();
    expect(bare.status).toBe(200);
    expect(bare.headers.get("access-control-allow-origin")).toBeNull();
    const same = await connectCall(server.url);
    expect(same.status).toBe(200);
    expect(same.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows any origin with *", async () => {
    const open = await testServer({ allowOrigins: ["*"], preloadAvatars: [] });
    try {
      const res = await fetch(`${open.url}/healthz`, { headers: { origin: REFUSED } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(REFUSED);
      expect(await openSocket(open.url, REFUSED)).toBe("open");
    } finally {
      await open.close();
    }
  });

  it("refuses a WebSocket upgrade from an origin not allowed with 403, accepts the others", async () => {
    expect(await openSocket(server.url, REFUSED)).toBe(403);
    expect(await openSocket(server.url, ALLOWED)).toBe("open");
    expect(await openSocket(server.url)).toBe("open");
    expect(await openSocket(server.url, server.url)).toBe("open");
  });

  it("refuses malformed --allow-origin values by name", async () => {
    await expect(testServer({ allowOrigins: ["example.com"] })).rejects.toThrow(/allowed origin must be/);
    await expect(testServer({ allowOrigins: ["https://a.example/path"] })).rejects.toThrow(/no path/);
  });
});

describe("static files under hostile paths", () => {
  it("answers 404 for a name too long, a file used as a folder and links out of a mount, and keeps serving", async () => {
    for (const p of [`/${"a".repeat(256)}`, `/${"b".repeat(4096)}/c`, "/index.html/x", "/examples/node_modules/@lipsync/client/src/index.ts", "/examples/../package.json", "/%2e%2e/package.json"]) {
      const res = await fetch(`${server.url}${p}`);
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toContain(REPO_ROOT);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/`)).status).toBe(200);
  });

  it("answers targets that start with // (read as a host by new URL) over HTTP/1.1, HTTP/2 and the upgrade, and keeps serving", async () => {
    const port = new URL(server.url).port;
    for (const target of ["///%00/x", "//%zz", "//[::1/ws"]) {
      for (const upgrade of ["", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"]) {
        const line = await rawStatusLine(Number(port), `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${upgrade}\r\n`);
        expect(line, `${target} ${upgrade ? "upgrade" : ""}`).toMatch(/^HTTP\/1\.1 40[04] /);
      }
      const h2 = http2.connect(server.url);
      const status = await new Promise<number>((resolve, reject) => {
        const s = h2.request({ ":path": target });
        s.on("response", (h) => resolve(Number(h[":status"])));
        s.on("error", reject);
        s.resume();
      }).finally(() => h2.close());
      expect(status, target).toBeGreaterThanOrEqual(400);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

/** The status line a raw request gets (the connection closed after at most 10 s). */
function rawStatusLine(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(request.slice(0, 40))} in 10 s`));
    }, 10_000);
    socket.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes("\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got.split("\r\n")[0]!);
      }
    });
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(got.split("\r\n")[0] ?? "");
    });
  });
}

describe("unknown methods", () => {
  it("answer UNIMPLEMENTED over gRPC (HTTP/2), gRPC-Web and Connect", async () => {
    const session = http2.connect(server.url);
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/lipsync.v1.LipSyncService/Nope", "content-type": "application/grpc", te: "trailers" });
        req.on("response", resolve);
        req.on("error", reject);
        req.end(Buffer.from([0, 0, 0, 0, 0]));
      });
      expect(headers["grpc-status"]).toBe(String(Code.Unimplemented));
    } finally {
      session.close();
    }
    const web = await fetch(`${server.url}/lipsync.v1.LipSyncService/Nope`, { method: "POST", headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, body: new Uint8Array(5) });
    expect(web.headers.get("grpc-status")).toBe(String(Code.Unimplemented));
    const connect = await fetch(`${server.url}/other.v9.Thing/Do`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(connect.status).toBe(404);
    expect(((await connect.json()) as { code: string }).code).toBe("unimplemented");
  });

  it("are reported as UNIMPLEMENTED by connect-es clients of every protocol", async () => {
    // A service the server does not have: the health descriptor renamed, so its paths are /ghost.v1.Health/*.
    const ghost = { ...health.Health, typeName: "ghost.v1.Health" } as typeof health.Health;
    const methods = Object.fromEntries(Object.entries(health.Health.method).map(([k, m]) => [k, { ...m, parent: ghost }]));
    const desc = { ...ghost, method: methods, methods: Object.values(methods) } as unknown as typeof health.Health;
    const { createConnectTransport, createGrpcWebTransport } = await import("@connectrpc/connect-node");
    for (const transport of [
      createGrpcTransport({ baseUrl: server.url }),
      createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    ]) {
      expect(await codeOf(createClient(desc, transport).check({ service: "" }))).toBe(Code.Unimplemented);
    }
  });
});

describe("gRPC conventions", () => {
  it("health says NOT_SERVING without a loaded avatar and SERVING once one loads", async () => {
    const empty = await testServer({ preloadAvatars: [] });
    try {
      const h = createClient(health.Health, createGrpcTransport({ baseUrl: empty.url }));
      const S = health.HealthCheckResponse_ServingStatus;
      expect((await h.check({ service: "" })).status).toBe(S.NOT_SERVING);
      const abort = new AbortController();
      const watch = h.watch({ service: "lipsync.v1.LipSyncService" }, { signal: abort.signal })[Symbol.asyncIterator]();
      expect((await watch.next()).value?.status).toBe(S.NOT_SERVING);
      await createLipSyncClient({ baseUrl: empty.url, protocol: "grpc" }).rpc.loadAvatar({ name: "demo" });
      expect((await h.check({ service: "lipsync.v1.LipSyncService" })).status).toBe(S.SERVING);
      expect((await watch.next()).value?.status).toBe(S.SERVING);
      abort.abort();
    } finally {
      await empty.close();
    }
  });

  it("lists services and serves descriptors over reflection v1 and v1alpha", async () => {
    const transport = createGrpcTransport({ baseUrl: server.url });
    for (const [svc, req] of [[v1.ServerReflection, v1.ServerReflectionRequestSchema], [v1alpha.ServerReflection, v1alpha.ServerReflectionRequestSchema]] as const) {
      const client = createClient(svc as typeof v1.ServerReflection, transport);
      async function* requests() {
        yield create(req as typeof v1.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } });
        yield create(req as typeof v1.ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: "lipsync.v1.LipSyncService.Speak" } });
        yield create(req as typeof v1.ServerReflectionRequestSchema, { messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } });
        yield create(req as typeof v1.ServerReflectionRequestSchema, { messageRequest: { case: "fileContainingSymbol", value: "no.such.Thing" } });
      }
      const answers = [];
      for await (const r of client.serverReflectionInfo(requests())) answers.push(r.messageResponse);
      expect(answers[0]!.case).toBe("listServicesResponse");
      const names = (answers[0]!.value as { service: { name: string }[] }).service.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(["lipsync.v1.LipSyncService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"]));
      const files = (answers[1]!.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      const lipsync = files.find((f) => f.name === "lipsync/v1/lipsync.proto")!;
      expect(lipsync.service[0]!.method.map((m) => m.name)).toContain("Speak");
      expect(answers[2]!.case).toBe("fileDescriptorResponse");
      expect(answers[3]!.case).toBe("errorResponse");
      expect((answers[3]!.value as { errorCode: number }).errorCode).toBe(Code.NotFound);
    }
  });

  it("lets buf curl --reflect list every method and call one", async () => {
    const buf = path.join(REPO_ROOT, "node_modules", ".bin", "buf");
    const run = (args: string[]) => new Promise<string>((resolve, reject) => {
      const p = spawn(buf, args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (err += d));
      const timer = setTimeout(() => p.kill(), 30_000);
      p.on("close", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`buf ${args.join(" ")}: exit ${code}: ${err}`));
      });
    });
    const methods = await run(["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", server.url]);
    expect(methods).toContain("lipsync.v1.LipSyncService/Speak");
    expect(methods).toContain("grpc.health.v1.Health/Check");
    const avatar = JSON.parse(await run(["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--data", '{"name":"demo"}', `${server.url}/lipsync.v1.LipSyncService/GetAvatar`]));
    expect(avatar.avatar.name).toBe("demo");
  });
});

describe("audio files", () => {
  it("SpeakAudio takes a 24-bit 96 kHz stereo WAV and refuses a file that is not WAV by saying so", async () => {
    const { execFileSync } = await import("node:child_process");
    const wav = execFileSync("ffmpeg", ["-loglevel", "error", "-i", path.join(REPO_ROOT, "models", "heldout", "gate-1.wav"), "-ar", "96000", "-ac", "2", "-c:a", "pcm_s24le", "-f", "wav", "pipe:1"], { maxBuffer: 64 << 20 });
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect", httpVersion: "1.1" });
    let frames = 0;
    for await (const e of c.speakAudio("demo", new Uint8Array(wav))) if (e.type === "frame" && e.frame.kind === "speech") frames++;
    expect(frames).toBeGreaterThan(50);
    try {
      for await (const _ of c.speakAudio("demo", new TextEncoder().encode("ID3 not a wav"))) void _;
      expect.unreachable();
    } catch (err) {
      expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
      expect(ConnectError.from(err).rawMessage).toBe("audio is not a RIFF/WAVE file");
    }
  });
});

describe("metrics", () => {
  it("exports process metrics under standard names, RPCs by method and code, first-frame latency", async () => {
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    await c.getAvatar("demo");
    await codeOf(c.getAvatar("ghost"));
    const s = c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } });
    s.pushAudio(speechLikePcm(0.5));
    s.end();
    for await (const e of s.events) if (e.type === "playback-finished" || e.type === "speech-ended") break;
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).not.toContain("lipsync_process_");
    expect(text).toMatch(/grpc_server_handled_total\{grpc_service="lipsync\.v1\.LipSyncService",grpc_method="GetAvatar",grpc_type="unary",grpc_code="OK",protocol="grpc"\} [1-9]/);
    expect(text).toMatch(/grpc_server_handled_total\{[^}]*grpc_method="GetAvatar"[^}]*grpc_code="NotFound"[^}]*\} [1-9]/);
    expect(text).toMatch(/grpc_server_handling_seconds_bucket\{[^}]*le="10"[^}]*grpc_method="GetAvatar"|grpc_server_handling_seconds_bucket\{le="10",[^}]*grpc_method="GetAvatar"/);
    expect(text).toMatch(/^lipsync_first_frame_seconds_count [1-9]/m);
    expect(text).toMatch(/^lipsync_sessions_total [1-9]/m);
    expect(text).toMatch(/lipsync_stage_seconds_bucket\{le="10",stage="total"\}/);
  });
});
