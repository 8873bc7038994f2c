/**
 * The HTTP/1.1 side of the port: Connect (JSON and binary, unary and streaming envelopes),
 * gRPC-Web (binary and base64 text), and the plain routes (files, /healthz, /metrics, junk that
 * is not HTTP at all).
 */
import http from "node:http";
import { gzipSync } from "node:zlib";
import { badEnvelope, decodeGrpcMessage, envelope, FRAMING_FAULTS, grpcAnswerName, grpcVerdict, gzipBomb, type GrpcAnswer } from "./framing.js";
import { h1call, rawCall, type H1Answer, type H1Request } from "./http1.js";
import { brokenProtobuf, encode, encodeJson, METHODS, request, SERVICE, speakSequence, UNARY, type Method } from "./messages.js";
import { CONNECT_HTTP, findLeak, type Verdict } from "./oracle.js";
import { type Rng } from "./rng.js";
import type { CaseResult, FuzzCase, FuzzTransport } from "./transport.js";

const te = new TextEncoder();
const json = (v: unknown) => te.encode(JSON.stringify(v));

/** Answers that are not an RPC's: a path that is not one, a method or type the server does not take. */
const PLAIN_STATUSES = new Set([400, 404, 405, 413, 414, 415, 431]);

/**
 * A bidirectional stream over HTTP/1.1 cannot work (the request must end before the answer
 * starts): connect-node answers 505 HTTP Version Not Supported, as README's table says.
 */
const BIDI_OVER_HTTP1 = 505;

/** Judges a Connect answer (unary: status + JSON error; streaming: the end-stream message). */
export function connectVerdict(a: H1Answer, streaming: boolean, mustAnswer: boolean, bidi = false): CaseResult {
  if (a.timedOut) return { answer: "timeout", verdict: mustAnswer ? { failure: "hang", detail: "no answer" } : { detail: "cut" } };
  if (a.status === undefined) return { answer: `error ${a.error}`, verdict: mustAnswer && a.error !== "ECONNRESET" && a.error !== "EPIPE" ? { failure: "no_status", detail: a.error ?? "" } : { detail: a.error ?? "" } };
  const text = a.body.toString("utf8");
  let error: { code?: unknown; message?: unknown } | undefined;
  if (a.status === 200 && streaming) {
    // The last envelope with flag 0x02 holds {"error": {...}} or {}.
    for (let at = 0; at + 5 <= a.body.length;) {
      const flags = a.body[at]!;
      const len = a.body.readUInt32BE(at + 1);
      if (flags & 0x02) {
        try {
          error = (JSON.parse(a.body.subarray(at + 5, at + 5 + len).toString()) as { error?: typeof error }).error;
        } catch {
          return { answer: "stream: bad end message", verdict: { failure: "undocumented", detail: text.slice(0, 200) } };
        }
      }
      at += 5 + len;
    }
  } else if (a.status !== 200) {
    try {
      error = JSON.parse(text) as typeof error;
    } catch {
      const name = `http ${a.status}`;
      const plain = PLAIN_STATUSES.has(a.status) || (bidi && a.status === BIDI_OVER_HTTP1);
      return { answer: name, verdict: plain ? leakOr({ detail: name }, text) : { failure: a.status >= 500 ? "internal" : "undocumented", detail: `${name}: ${text.slice(0, 200)}` } };
    }
  }
  if (!error) return { answer: `http ${a.status}`, verdict: { detail: "ok" } };
  const code = String(error.code);
  const message = typeof error.message === "string" ? error.message : "";
  const name = `${streaming ? "stream " : ""}${code}${streaming ? "" : ` ${a.status}`}`;
  const detail = `${name}: ${message}`;
  const leak = findLeak(message);
  if (leak) return { answer: name, verdict: { failure: "leak", detail: leak } };
  if (code === "internal" || code === "unknown") return { answer: name, verdict: { failure: "internal", detail } };
  if (!(code in CONNECT_HTTP)) return { answer: name, verdict: { failure: "undocumented", detail } };
  // A unary error's HTTP status follows its code; the server answers an unknown method with 404.
  if (!streaming && a.status !== CONNECT_HTTP[code] && !(code === "unimplemented" && a.status === 404)) return { answer: name, verdict: { failure: "undocumented", detail: `${detail} (HTTP ${a.status})` } };
  return { answer: name, verdict: { detail } };
}

function leakOr(v: Verdict, body: string): Verdict {
  const leak = findLeak(body);
  return leak ? { failure: "leak", detail: leak } : v;
}

/** Parses a gRPC-Web answer: status from the headers (trailers-only) or from the trailer frame. */
export function grpcWebAnswer(a: H1Answer): GrpcAnswer {
  const g: GrpcAnswer = { timedOut: a.timedOut };
  if (a.status !== undefined) g.http = a.status;
  if (a.headers["content-type"]) g.contentType = String(a.headers["content-type"]);
  if (a.error && a.status === undefined) g.reset = a.error;
  const take = (k: string, v: string) => {
    if (k === "grpc-status") g.grpcStatus = Number(v);
    if (k === "grpc-message") g.grpcMessage = decodeGrpcMessage(v);
  };
  for (const [k, v] of Object.entries(a.headers)) take(k, String(v));
  let body = a.body;
  if (g.contentType?.startsWith("application/grpc-web-text")) body = Buffer.from(body.toString("latin1"), "base64");
  for (let at = 0; at + 5 <= body.length;) {
    const flags = body[at]!;
    const len = body.readUInt32BE(at + 1);
    if (flags & 0x80) {
      for (const line of body.subarray(at + 5, at + 5 + len).toString().split("\r\n")) {
        const i = line.indexOf(":");
        if (i > 0) take(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
    }
    at += 5 + len;
  }
  return g;
}

/** JSON values a field should refuse or take with care. */
function oddJsonValue(rng: Rng): string {
  return rng.pick([
    "-1", "1.5", "1e20", "1e400", "-1e400", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"12\"", "\"0x10\"", "true", "null", "[]", "{}", "9007199254740993",
    "99999999999999999999999999", "\"\\ud800\"", "\"\\u0000\"", "-0", "4294967296", "\"" + "9".repeat(400) + "\"",
  ]);
}

/** Hostile JSON bodies for a unary method. */
function connectJsonBody(rng: Rng, m: Method): Uint8Array {
  const valid = JSON.stringify(encodeJson(m, request(rng, m)));
  return rng.weighted<() => Uint8Array>([
    [4, () => te.encode(valid)],
    [3, () => te.encode(`{"${rng.pick(["avatar", "name", "index", "indices", "quality", "format", "view"])}": ${oddJsonValue(rng)}, "avatar": "demo"}`)],
    [2, () => te.encode(valid.slice(0, rng.int(0, valid.length - 1)))],
    [1, () => te.encode(valid + rng.pick(["x", "}", ",", " {}", "\u0000"]))],
    [1, () => te.encode(rng.pick(["", "null", "[]", "1", "\"s\"", "{'avatar': 'demo'}", "{\"avatar\": \"demo\" /* c */}", "\ufeff{}", "{\"avatar\":\"demo\",\"avatar\":\"ghost\"}", "{\"nope\": 1}"]))],
    [1, () => Uint8Array.from([...te.encode("{\"avatar\": \""), 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, ...te.encode("\"}")])],
    [1, () => {
      const depth = rng.pick([100, 1000, 10_000, 100_000]);
      const open = rng.chance(0.5) ? "[" : "{\"a\":";
      return te.encode(`{"avatar": "demo", "x": ${open.repeat(depth)}1${(open === "[" ? "]" : "}").repeat(depth)}}`);
    }],
    [1, () => te.encode(`{"indices": [${Array.from({ length: rng.int(300, 20000) }, () => rng.int(0, 200)).join(",")}], "avatar": "demo"}`)],
  ])();
}

export class HttpFuzzer implements FuzzTransport {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly base: URL;

  constructor(readonly name: "connect" | "grpc-web" | "http", url: string) {
    this.base = new URL(url);
  }

  next(rng: Rng): FuzzCase {
    if (this.name === "connect") return this.connect(rng);
    if (this.name === "grpc-web") return this.grpcWeb(rng);
    return this.plain(rng);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private call(name: string, req: H1Request, judge: (a: H1Answer) => CaseResult): FuzzCase {
    return { name, run: async () => judge(await h1call(this.agent, this.base, req)) };
  }

  private connect(rng: Rng): FuzzCase {
    const m = rng.pick(UNARY);
    const path = `/${SERVICE}/${m.name}`;
    const kind = rng.weighted([
      [10, "json"], [6, "proto"], [3, "content-type"], [3, "headers"], [3, "method"], [2, "compression"], [8, "stream"], [2, "cut"], [0.05, "huge"], [2, "get"],
    ] as const);
    const post = (body: Uint8Array, headers: Record<string, string> = { "content-type": "application/json" }, extra: Partial<H1Request> = {}) =>
      ({ method: "POST", path, headers, body, ...extra });
    const unary = (a: H1Answer) => connectVerdict(a, false, true);
    switch (kind) {
      case "json":
        return this.call(`json/${m.name}`, post(connectJsonBody(rng, m)), unary);
      case "proto": {
        const body = rng.chance(0.5) ? brokenProtobuf(rng, m) : encode(m, request(rng, m));
        return this.call(`proto/${m.name}`, post(body, { "content-type": "application/proto" }), unary);
      }
      case "content-type": {
        const type = rng.pick(["text/plain", "application/xml", "", "application/json; charset=utf-16", "application/json; charset=latin1", "application/JSON", "application/proto; x=1", "multipart/form-data"]);
        return this.call(`content-type/${type}`, post(json({}), type ? { "content-type": type } : {}), unary);
      }
      case "headers": {
        const headers = rng.pick<Record<string, string>>([
          { "connect-protocol-version": rng.pick(["2", "0", "x", ""]) },
          { "connect-timeout-ms": rng.pick(["abc", "-1", "99999999999", "0", "1", "1.5", "1e3"]) },
          { "content-encoding": rng.pick(["br", "identity", "gzip, gzip", "x"]) },
          { "accept-encoding": rng.pick(["gzip;q=x", "*;q=-1", ",,,"]) },
        ]);
        return this.call(`headers/${Object.keys(headers)[0]}`, post(json({ avatar: "demo" }), { "content-type": "application/json", ...headers }), unary);
      }
      case "method": {
        const method = rng.pick(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"]);
        return this.call(`method/${method}`, { method, path, headers: { "content-type": "application/json" }, body: json({}) }, (a) => {
          if (a.status !== undefined && [200, 204, 400, 404, 405, 415].includes(a.status) && !a.timedOut) return { answer: `http ${a.status}`, verdict: leakOr({ detail: "" }, a.body.toString()) };
          return connectVerdict(a, false, true);
        });
      }
      case "get": {
        // Connect GET (idempotent methods only; none are marked so): a refusal, never a crash.
        const message = encodeURIComponent(rng.chance(0.5) ? JSON.stringify(encodeJson(m, request(rng, m))) : "%%%\u0000");
        const q = rng.pick([`?encoding=json&message=${message}`, `?encoding=proto&base64=1&message=${rng.pick(["!!!", "AAAA", ""])}`, "?encoding=xml", "?message=", `?encoding=json&message=${message}&compression=gzip`]);
        return this.call("get", { method: "GET", path: path + q, headers: {} }, (a) => {
          if (a.status !== undefined && PLAIN_STATUSES.has(a.status)) return { answer: `http ${a.status}`, verdict: leakOr({ detail: "" }, a.body.toString()) };
          return connectVerdict(a, false, true);
        });
      }
      case "compression": {
        const variant = rng.weighted([[1, "garbage"], [1, "valid"], [0.05, "bomb"]] as const);
        const body = variant === "garbage" ? rng.bytes(rng.int(1, 200)) : variant === "valid" ? gzipSync(json(encodeJson(m, request(rng, m)))) : gzipBomb();
        return this.call(`compression/${variant}`, post(body, { "content-type": "application/json", "content-encoding": "gzip" }), unary);
      }
      case "stream": {
        // Envelopes on the streaming methods (HTTP/1.1: server streaming works, bidi is refused).
        const sm = rng.pick(METHODS.filter((x) => x.kind !== "unary"));
        const asJson = rng.chance(0.5);
        const payload = (msg: object) => (asJson ? json(encodeJson(sm, msg)) : encode(sm, msg));
        const msgs = sm.name === "Speak" ? speakSequence(rng).map(payload) : [payload(request(rng, sm))];
        const fault = rng.chance(0.5) ? "none" : rng.weighted(FRAMING_FAULTS);
        const body = Buffer.concat(msgs.map((p, i) => (i === msgs.length - 1 ? badEnvelope(rng, p, fault) : envelope(p))));
        const type = `application/connect+${asJson ? "json" : "proto"}`;
        return this.call(`stream/${sm.name}/${fault}`, post(body, { "content-type": type }, { path: `/${SERVICE}/${sm.name}`, timeoutMs: 20_000 }), (a) => connectVerdict(a, true, true, sm.kind === "bidi"));
      }
      case "cut": {
        const body = connectJsonBody(rng, m);
        return this.call("cut", post(body, { "content-type": "application/json" }, { cutAt: rng.int(0, Math.max(0, body.length - 1)) }), (a) => connectVerdict(a, false, false));
      }
      case "huge": {
        const body = new Uint8Array(rng.pick([16 * 1024 * 1024 + 1, 20 * 1024 * 1024])).fill(0x20);
        return this.call("huge", post(body, { "content-type": "application/json" }, { timeoutMs: 30_000 }), unary);
      }
    }
  }

  private grpcWeb(rng: Rng): FuzzCase {
    const m = rng.weighted([[4, rng.pick(UNARY)], [1, METHODS.find((x) => x.name === "SpeakAudio")!], [1, METHODS.find((x) => x.name === "Speak")!]]);
    const text = rng.chance(0.3);
    const kind = rng.weighted([[8, "valid"], [6, "garbage"], [8, "framing"], [2, "content-type"], [2, "text-garbage"], [0.05, "huge"], [2, "cut"]] as const);
    let payload = encode(m, request(rng, m));
    let frame = envelope(payload);
    let name = `${kind}/${m.name}`;
    if (kind === "garbage") frame = envelope((payload = brokenProtobuf(rng, m)));
    if (kind === "framing") {
      const fault = rng.weighted(FRAMING_FAULTS);
      frame = badEnvelope(rng, payload, fault);
      name = `framing/${fault}/${m.name}`;
    }
    if (kind === "huge") {
      frame = envelope(new Uint8Array(16 * 1024 * 1024 + 1));
    }
    let body: Uint8Array = text ? te.encode(Buffer.from(frame).toString("base64")) : frame;
    if (kind === "text-garbage") body = te.encode(rng.pick(["!!!!", "AAA", "====", "QUFB\u0000", Buffer.from(frame).toString("base64").slice(1)]));
    const type = kind === "content-type"
      ? rng.pick(["application/grpc-web+json", "application/grpc-web+xml", "application/grpc-web-text+json", "application/grpc-webx"])
      : text || kind === "text-garbage" ? "application/grpc-web-text" : rng.pick(["application/grpc-web+proto", "application/grpc-web"]);
    const req: H1Request = {
      method: "POST", path: `/${SERVICE}/${m.name}`, headers: { "content-type": type, "x-grpc-web": "1", ...(rng.chance(0.1) ? { "grpc-timeout": rng.pick(["1m", "x", "0S"]) } : {}) },
      body, timeoutMs: kind === "huge" ? 30_000 : 20_000,
      ...(kind === "cut" ? { cutAt: rng.int(0, Math.max(0, body.length - 1)) } : {}),
    };
    return this.call(`${name}${text ? "/text" : ""}`, req, (a) => {
      // Refused before its body was read (16 MiB, or a bidirectional stream, 505 over HTTP/1.1):
      // Node closes a connection whose request body is left unread, so the upload may fail first.
      const refusedUnread = kind === "huge" || m.kind === "bidi";
      if (refusedUnread && a.status === undefined && (a.error === "EPIPE" || a.error === "ECONNRESET")) return { answer: "closed while uploading", verdict: { detail: a.error } };
      const g = grpcWebAnswer(a);
      if (g.grpcStatus === undefined && a.status !== undefined && a.status !== 200) {
        // Not gRPC-Web at all (a content type it does not take): a plain or Connect answer.
        if (PLAIN_STATUSES.has(a.status)) return { answer: `http ${a.status}`, verdict: leakOr({ detail: "" }, a.body.toString()) };
        return connectVerdict(a, false, kind !== "cut", m.kind === "bidi");
      }
      return { answer: grpcAnswerName(g), verdict: grpcVerdict(g, kind !== "cut", req.path) };
    });
  }

  private plain(rng: Rng): FuzzCase {
    const kind = rng.weighted([[10, "path"], [3, "method"], [2, "raw"], [2, "upgrade"], [2, "known"], [1, "headers"]] as const);
    const judge = (a: H1Answer): CaseResult => {
      if (a.timedOut) return { answer: "timeout", verdict: { failure: "hang", detail: "no answer" } };
      if (a.status === undefined) return { answer: `error ${a.error}`, verdict: { detail: a.error ?? "" } };
      const name = `http ${a.status}`;
      if (a.status >= 500 && a.status !== 503) return { answer: name, verdict: { failure: "internal", detail: a.body.toString().slice(0, 200) } };
      if (![200, 204, 304, 400, 403, 404, 405, 413, 414, 415, 426, 431, 503].includes(a.status)) return { answer: name, verdict: { failure: "undocumented", detail: name } };
      // A served file may mention anything; answers that are not files must not.
      return { answer: name, verdict: a.status === 200 ? { detail: name } : leakOr({ detail: name }, a.body.toString()) };
    };
    switch (kind) {
      case "path": {
        const seg = () => rng.pick([
          "index.html", "a".repeat(rng.int(250, 5000)), "%2e%2e", "..", "%2f", "%00", "%zz", "%c0%af", "node_modules", "examples", "samples", "x.wav", "\u00e9", ";", "?", "#",
          "lip-sync-player.bundle.js", "..%5c..%5c", "%252e%252e", "", ".", "~", "package.json", "@lipsync", "client", "src", "index.ts",
        ]);
        const p = "/" + Array.from({ length: rng.int(1, 6) }, seg).join("/");
        return this.call(`path/${p.slice(0, 40)}`, { method: rng.pick(["GET", "HEAD"]), path: encodeURI(p).replace(/%25/g, "%"), headers: {} }, judge);
      }
      case "method":
        return this.call("method", { method: rng.pick(["POST", "PUT", "DELETE", "PROPFIND", "OPTIONS", "PATCH", "LOCK"]), path: rng.pick(["/", "/healthz", "/metrics", "/index.html", "/ws"]), headers: {}, body: rng.bytes(rng.int(0, 2000)) }, judge);
      case "known":
        return this.call("known", { method: "GET", path: rng.pick(["/healthz", "/readyz", "/metrics", "/", "/healthz?x=%zz", "/metrics/", "/samples/", "/examples/"]), headers: {} }, judge);
      case "headers":
        return this.call("headers", { method: "GET", path: "/", headers: rng.pick<Record<string, string>>([{ "x-big": "v".repeat(20_000) }, { origin: "http://evil.example" }, { origin: "null" }, { range: "bytes=999999999-" }, { "if-none-match": "*" }]) }, judge);
      case "upgrade": {
        const headers = rng.pick<Record<string, string>>([
          { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "bad" },
          { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "99", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
          { connection: "Upgrade", upgrade: "h2c", "http2-settings": "AAMAAABkAAQAAP__" },
          { connection: "Upgrade", upgrade: "websocket" },
        ]);
        return this.call("upgrade", { method: "GET", path: rng.pick(["/ws", "/", "/nope"]), headers, timeoutMs: 3000 }, (a) => {
          // Refused upgrades end the connection with a status or close it.
          if (a.timedOut) return { answer: "timeout", verdict: { failure: "hang", detail: "upgrade not answered" } };
          return judge(a.status === undefined ? { ...a, error: a.error ?? "closed" } : a);
        });
      }
      case "raw": {
        const bytes = rng.pick([
          te.encode("GET / HTTP/9.9\r\n\r\n"), te.encode("GARBAGE\r\n\r\n"), rng.bytes(rng.int(1, 500)), te.encode(`GET /${"a".repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
          te.encode("POST /lipsync.v1.LipSyncService/GetAvatar HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
          te.encode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
          te.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\u0000".repeat(30)),
        ]);
        return {
          name: "raw",
          run: async () => {
            const r = await rawCall(this.base, bytes, 300);
            const status = /^HTTP\/1\.1 (\d{3})/.exec(r.firstLine)?.[1];
            const name = status ? `http ${status}` : r.closed ? "closed" : r.firstLine ? "bytes" : "silent";
            return { answer: name, verdict: status && Number(status) >= 500 ? { failure: "internal", detail: r.firstLine } : { detail: name } };
          },
        };
      }
    }
  }
}

