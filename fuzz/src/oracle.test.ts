// The fuzzer's judgement, without a server: what counts as a leak, a hang, an undocumented or
// internal status, and that a seed replays the same cases.
import { describe, expect, it } from "vitest";
import { grpcVerdict, rpcShaped } from "./framing.js";
import { connectVerdict, grpcWebAnswer } from "./http.js";
import type { H1Answer } from "./http1.js";
import { knownFinding } from "./known.js";
import { documentedCloseCodes, findLeak, Tally } from "./oracle.js";
import { Rng } from "./rng.js";
import { GrpcFuzzer } from "./grpc.js";
import { WsFuzzer } from "./ws.js";

const h1 = (status: number, body: unknown, headers: Record<string, string> = {}): H1Answer =>
  ({ status, headers, body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === "string" ? body : JSON.stringify(body)), timedOut: false });

describe("fuzz oracle", () => {
  it("finds file paths and stack traces in messages, and passes ordinary ones", () => {
    for (const leak of [
      "ENOENT: no such file or directory, open '/work/main/models/x'", "at Object.parse (file:///srv/app/node_modules/x.js:96:23)",
      "Error: boom\n    at run (server.ts:12:3)", "TypeError: Cannot read properties of undefined", "failed in /usr/lib/node/x", "see app.js:42",
    ]) expect(findLeak(leak), leak).toBeDefined();
    for (const fine of ["avatar \"ghost\" not found; known avatars: demo", "frame index 1000 is out of range 0..124", "audio chunk of 1663 bytes is not a whole number of 2-byte sample frames", undefined]) {
      expect(findLeak(fine), fine).toBeUndefined();
    }
  });

  it("reads the documented WebSocket close codes from docs/protocol.md", () => {
    const codes = documentedCloseCodes();
    for (const c of [1000, 1001, 1002, 1007, 1009, 1011, 4400, 4401, 4403, 4404, 4412, 4429, 4503]) expect(codes.has(c), String(c)).toBe(true);
    expect(codes.has(1006)).toBe(false);
    expect(codes.has(4000)).toBe(false);
  });

  it("judges gRPC answers: a documented status passes; INTERNAL, no status and no answer fail", () => {
    expect(grpcVerdict({ grpcStatus: 3, grpcMessage: "bad", timedOut: false }, true).failure).toBeUndefined();
    expect(grpcVerdict({ grpcStatus: 13, timedOut: false }, true).failure).toBe("internal");
    expect(grpcVerdict({ grpcStatus: 15, timedOut: false }, true).failure).toBe("undocumented");
    expect(grpcVerdict({ http: 200, timedOut: false }, true).failure).toBe("no_status");
    expect(grpcVerdict({ timedOut: true }, true).failure).toBe("hang");
    expect(grpcVerdict({ grpcStatus: 3, grpcMessage: "at x (/work/a.ts:1:2)", timedOut: false }, true).failure).toBe("leak");
    // A stream we cut owes no answer; a path that names no method may get plain HTTP.
    expect(grpcVerdict({ timedOut: false }, false).failure).toBeUndefined();
    expect(grpcVerdict({ http: 405, timedOut: false }, true, "/").failure).toBeUndefined();
    expect(grpcVerdict({ http: 405, timedOut: false }, true, "/a.B/C").failure).toBe("no_status");
    expect(rpcShaped("/lipsync.v1.LipSyncService/Speak")).toBe(true);
    expect(rpcShaped(`/${"a".repeat(300)}/b`)).toBe(false);
  });

  it("judges Connect answers: the status must match the code, internal fails", () => {
    expect(connectVerdict(h1(400, { code: "invalid_argument", message: "x" }), false, true).verdict.failure).toBeUndefined();
    expect(connectVerdict(h1(500, { code: "invalid_argument", message: "x" }), false, true).verdict.failure).toBe("undocumented");
    expect(connectVerdict(h1(500, { code: "internal", message: "x" }), false, true).verdict.failure).toBe("internal");
    expect(connectVerdict(h1(404, { code: "unimplemented", message: "x" }), false, true).verdict.failure).toBeUndefined();
    expect(connectVerdict(h1(415, "unsupported"), false, true).verdict.failure).toBeUndefined();
    expect(connectVerdict(h1(505, ""), true, true).verdict.failure).toBe("internal");
    expect(connectVerdict(h1(505, ""), true, true, true).verdict.failure).toBeUndefined();
    expect(connectVerdict({ headers: {}, body: Buffer.alloc(0), timedOut: true }, false, true).verdict.failure).toBe("hang");
    const end = Buffer.from(JSON.stringify({ error: { code: "internal", message: "boom" } }));
    const stream = Buffer.concat([Buffer.from([2, 0, 0, 0, end.length]), end]);
    expect(connectVerdict({ status: 200, headers: {}, body: stream, timedOut: false }, true, true).verdict.failure).toBe("internal");
  });

  it("reads a gRPC-Web status from the trailer frame, in binary and in base64 text", () => {
    const trailer = Buffer.from("grpc-status: 5\r\ngrpc-message: not%20found\r\n");
    const frame = Buffer.concat([Buffer.from([0x80, 0, 0, 0, trailer.length]), trailer]);
    expect(grpcWebAnswer(h1(200, frame, { "content-type": "application/grpc-web+proto" }))).toMatchObject({ grpcStatus: 5, grpcMessage: "not found" });
    expect(grpcWebAnswer(h1(200, frame.toString("base64"), { "content-type": "application/grpc-web-text" }))).toMatchObject({ grpcStatus: 5 });
  });

  it("counts known findings apart from failures, and only for the answers they name", () => {
    const known = [{ id: "a filed defect", transports: ["grpc"], cases: /^unary-garbage\//, answer: /^internal: grpc-status 13: parse binary/ }];
    const tally = new Tally();
    const internal = { answer: "grpc-status 13", verdict: { failure: "internal" as const, detail: "grpc-status 13: parse binary: premature EOF" } };
    tally.record("unary-garbage/GetAvatar", 1, internal.answer, internal.verdict, knownFinding("grpc", "unary-garbage/GetAvatar", internal, known));
    const other = { answer: "grpc-status 13", verdict: { failure: "internal" as const, detail: "grpc-status 13: internal error" } };
    tally.record("unary-valid/RenderFrame", 2, other.answer, other.verdict, knownFinding("grpc", "unary-valid/RenderFrame", other, known));
    // The same answer on another transport is not the filed defect.
    tally.record("unary-garbage/GetAvatar", 3, internal.answer, internal.verdict, knownFinding("connect", "unary-garbage/GetAvatar", internal, known));
    expect(tally.failed).toBe(2);
    expect([...tally.known.values()]).toEqual([1]);
    expect(tally.examples[0]).toMatchObject({ kind: "internal", seed: 2 });
  });

  it("replays the same cases from the same seed", () => {
    const names = (seed: number) => {
      const grpc = new GrpcFuzzer("http://127.0.0.1:1", 1);
      const ws = new WsFuzzer("http://127.0.0.1:1");
      return Array.from({ length: 50 }, (_, k) => `${grpc.next(new Rng(seed, `grpc:${k}`)).name} ${ws.next(new Rng(seed, `ws:${k}`)).name}`);
    };
    expect(names(7)).toEqual(names(7));
    expect(names(7)).not.toEqual(names(8));
  });
});
