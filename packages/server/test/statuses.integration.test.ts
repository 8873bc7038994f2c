/**
 * Malformed input gets the client's status on every protocol: a body that is not protobuf, a
 * compressed message without an encoding and a body zlib cannot inflate are INVALID_ARGUMENT
 * (gRPC 3, HTTP 400), never INTERNAL.
 */
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.js";
import { grpcMessage } from "./h2-raw.js";
import { testServer } from "./harness.js";

let server: RunningServer;
beforeAll(async () => {
  server = await testServer();
});
afterAll(async () => {
  await server?.close();
});

/** Field 1 as a length-delimited string claiming 100 bytes, with 2 present. */
const NOT_PROTOBUF = Uint8Array.from([0x0a, 0x64, 0x41, 0x42]);

/** One gRPC call over HTTP/2: the status from the trailers (or trailers-only headers). */
function grpcCall(path: string, body: Uint8Array, options: { flags?: number; headers?: Record<string, string> } = {}): Promise<{ status: string | undefined; message: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(server.url);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...options.headers });
    let headers: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (headers = { ...headers, ...t }));
    stream.on("close", () => {
      session.close();
      resolve({ status: headers["grpc-status"] as string | undefined, message: decodeURIComponent(String(headers["grpc-message"] ?? "")) });
    });
    stream.on("error", reject);
    stream.resume();
    const message = Buffer.from(grpcMessage(body));
    message[0] = options.flags ?? 0;
    stream.end(message);
  });
}

describe("a body that is not protobuf", () => {
  it("is INVALID_ARGUMENT over gRPC, unary", async () => {
    const r = await grpcCall("/lipsync.v1.LipSyncService/RenderFrame", NOT_PROTOBUF);
    expect(r.status).toBe("3");
    expect(r.message).toMatch(/parse binary/);
  });

  it("is INVALID_ARGUMENT over gRPC, in a Speak stream", async () => {
    const r = await grpcCall("/lipsync.v1.LipSyncService/Speak", NOT_PROTOBUF);
    expect(r.status).toBe("3");
  });

  it("is INVALID_ARGUMENT over gRPC-Web", async () => {
    const res = await fetch(`${server.url}/lipsync.v1.LipSyncService/RenderFrame`, {
      method: "POST", headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, body: grpcMessage(NOT_PROTOBUF),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const status = res.headers.get("grpc-status") ?? /grpc-status: ?(\d+)/.exec(bytes.toString("latin1"))?.[1];
    expect(status).toBe("3");
  });

  it("is HTTP 400 invalid_argument over Connect", async () => {
    const res = await fetch(`${server.url}/lipsync.v1.LipSyncService/RenderFrame`, {
      method: "POST", headers: { "content-type": "application/proto", "connect-protocol-version": "1" }, body: NOT_PROTOBUF,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
  });

  it("is HTTP 400 invalid_argument over Connect JSON too", async () => {
    const res = await fetch(`${server.url}/lipsync.v1.LipSyncService/RenderFrame`, {
      method: "POST", headers: { "content-type": "application/json", "connect-protocol-version": "1" }, body: "{\"avatar\": 12",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
  });
});

describe("a compressed message the server cannot decompress", () => {
  // A gzip stream cut short: zlib says "unexpected end of file" (Z_BUF_ERROR).
  const CUT_GZIP = gzipSync(Buffer.from("{\"avatar\": \"demo\", \"index\": 3}")).subarray(0, 12);

  it("is INVALID_ARGUMENT over gRPC when the compressed flag comes without an encoding", async () => {
    for (const headers of [{}, { "grpc-encoding": "identity" }] as Record<string, string>[]) {
      const r = await grpcCall("/lipsync.v1.LipSyncService/GetAvatar", Uint8Array.of(0x0a, 0x04, 0x64, 0x65, 0x6d, 0x6f), { flags: 1, headers });
      expect(r.status, JSON.stringify(headers)).toBe("3");
      expect(r.message).toMatch(/compressed/);
    }
  });

  it("is INVALID_ARGUMENT over gRPC when the gzip data is broken", async () => {
    const r = await grpcCall("/lipsync.v1.LipSyncService/GetAvatar", CUT_GZIP, { flags: 1, headers: { "grpc-encoding": "gzip" } });
    expect(r.status).toBe("3");
    expect(r.message).toMatch(/decompression failed/);
  });

  it("is HTTP 400 invalid_argument over Connect when the gzip body is broken", async () => {
    const res = await fetch(`${server.url}/lipsync.v1.LipSyncService/RenderFrame`, {
      method: "POST", headers: { "content-type": "application/json", "content-encoding": "gzip", "connect-protocol-version": "1" }, body: CUT_GZIP,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
  });
});
