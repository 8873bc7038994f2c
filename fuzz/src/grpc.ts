/**
 * gRPC over HTTP/2 cleartext (prior knowledge), written with raw node:http2 so that anything a
 * client library would refuse to send can be sent: wrong length prefixes, truncated envelopes,
 * the compressed flag without an encoding, garbage protobuf, huge and empty messages, unknown
 * methods and headers, Speak streams with messages out of order, and streams cut mid-message
 * (RST_STREAM of several codes, or the whole connection dropped). A few cases write raw HTTP/2
 * frames on a fresh socket.
 */
import http2 from "node:http2";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { badEnvelope, decodeGrpcMessage, envelope, FRAMING_FAULTS, grpcAnswerName, grpcVerdict, gzipBomb, type GrpcAnswer } from "./framing.js";
import { brokenProtobuf, encode, METHODS, request, SERVICE, speakSequence, UNARY, type Method } from "./messages.js";
import { concat, type Rng } from "./rng.js";
import type { FuzzCase, FuzzTransport } from "./transport.js";

/** A step of a hostile stream. */
export type Step =
  | { send: Uint8Array }
  | { end: true }
  /** RST_STREAM with this code (NO_ERROR 0, PROTOCOL_ERROR 1, CANCEL 8, ...). */
  | { reset: number }
  /** Drop the whole connection. */
  | { kill: true }
  | { pauseMs: number };

const ANSWER_MS = 5000;

export interface H2Request {
  path: string;
  headers: Record<string, string>;
  steps: Step[];
  /** The request is complete (ends with `end`), so an answer is owed. */
  mustAnswer: boolean;
  timeoutMs?: number;
}

/** Sends `req` on `session` and collects the answer; never rejects. */
export function h2call(session: http2.ClientHttp2Session, req: H2Request): Promise<GrpcAnswer> {
  return new Promise((resolve) => {
    const answer: GrpcAnswer = { timedOut: false };
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(answer);
    };
    const timer = setTimeout(() => {
      answer.timedOut = req.mustAnswer;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish();
    }, req.timeoutMs ?? ANSWER_MS);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ":method": "POST", ":path": req.path, ...req.headers }, { endStream: false });
    } catch (err) {
      answer.reset = `request failed: ${(err as Error).message}`;
      clearTimeout(timer);
      resolve(answer);
      return;
    }
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h[":status"] !== undefined) answer.http = Number(h[":status"]);
      if (h["content-type"] !== undefined) answer.contentType = String(h["content-type"]);
      if (h["grpc-status"] !== undefined) answer.grpcStatus = Number(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) answer.grpcMessage = decodeGrpcMessage(String(h["grpc-message"]));
    };
    stream.on("response", (h) => {
      take(h);
      // Trailers-only: the answer is complete.
      if (h["grpc-status"] !== undefined) endEarly();
    });
    stream.on("trailers", (h) => {
      take(h);
      endEarly();
    });
    // A complete answer may come while we still send (the server refused the request early):
    // like a gRPC client, stop sending and cancel the rest of the stream.
    const endEarly = () => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      finish();
    };
    stream.on("data", () => undefined);
    stream.on("error", (err: NodeJS.ErrnoException) => (answer.reset ??= err.code === "ERR_HTTP2_STREAM_ERROR" ? err.message.replace("Stream closed with error code ", "") : err.code ?? err.message));
    stream.on("close", () => {
      if (stream.rstCode && answer.grpcStatus === undefined) answer.reset ??= `rst ${stream.rstCode}`;
      finish();
    });
    void (async () => {
      for (const step of req.steps) {
        if (done || stream.destroyed) return;
        if ("send" in step) stream.write(step.send);
        else if ("end" in step) stream.end();
        else if ("reset" in step) stream.close(step.reset);
        else if ("kill" in step) session.destroy();
        else await new Promise((r) => setTimeout(r, step.pauseMs));
      }
    })();
  });
}

const GRPC_HEADERS = { "content-type": "application/grpc+proto", te: "trailers" };

/**
 * Streams per connection before the pool opens a fresh one. The cases reset streams all the
 * time, and the server's rapid-reset guard (transport/h2-guard.ts: 200 abandoned streams in a
 * burst, 20 a second) sends such a connection away with GOAWAY(ENHANCE_YOUR_CALM): right for an
 * abusive client, and not what a case is about.
 */
const STREAMS_PER_CONNECTION = 100;

/** An HTTP/2 connection to the server, reopened whenever it closes or has carried enough streams. */
export class H2Pool {
  private session: http2.ClientHttp2Session | undefined;
  private streams = 0;

  constructor(private readonly url: string) {}

  get(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed || this.streams >= STREAMS_PER_CONNECTION) {
      // Closed a little later: a GOAWAY sent now could overtake the HEADERS of the last streams,
      // which the server would then refuse.
      const old = this.session;
      if (old) setTimeout(() => old.close(), 1000);
      this.session = this.open();
      this.streams = 0;
    }
    this.streams++;
    return this.session;
  }

  open(): http2.ClientHttp2Session {
    // Cases queue megabytes a server may never read and then cancel: a client session's own
    // memory bound (10 MB by default) would otherwise refuse later streams itself.
    const s = http2.connect(this.url, { maxSessionMemory: 1024 });
    s.on("error", () => undefined);
    s.on("goaway", (code, last) => {
      if (process.env.FUZZ_TRACE) process.stderr.write(`h2 client session: GOAWAY code ${code} last stream ${last}\n`);
      s.close();
    });
    return s;
  }

  close(): void {
    this.session?.destroy();
  }
}

export class GrpcFuzzer implements FuzzTransport {
  readonly name = "grpc";
  private readonly pool: H2Pool;

  constructor(url: string, private readonly port: number) {
    this.pool = new H2Pool(url);
  }

  next(rng: Rng): FuzzCase {
    const kind = rng.weighted([
      [10, "unary-valid"], [10, "unary-garbage"], [10, "unary-framing"], [3, "unary-empty"], [3, "unary-two"], [3, "compression"],
      [4, "unknown-method"], [4, "bad-headers"], [14, "speak"], [4, "speak-audio"], [4, "stream-render"], [6, "cut"], [2, "h2-frames"], [0.08, "huge"],
    ] as const);
    const unary = rng.pick(UNARY);
    const path = (m: Method) => `/${SERVICE}/${m.name}`;
    const req = (r: Omit<H2Request, "headers"> & { headers?: Record<string, string> }): FuzzCase => ({
      name: `${kind}/${r.path.split("/").pop()}`,
      run: async () => {
        const own = r.steps.some((s) => "kill" in s) ? this.pool.open() : undefined;
        const a = await h2call(own ?? this.pool.get(), { ...r, headers: r.headers ?? GRPC_HEADERS });
        own?.destroy();
        return { answer: grpcAnswerName(a), verdict: grpcVerdict(a, r.mustAnswer, r.path) };
      },
    });
    switch (kind) {
      case "unary-valid":
        return req({ path: path(unary), steps: [{ send: envelope(encode(unary, request(rng, unary))) }, { end: true }], mustAnswer: true });
      case "unary-garbage":
        return req({ path: path(unary), steps: [{ send: envelope(brokenProtobuf(rng, unary)) }, { end: true }], mustAnswer: true });
      case "unary-framing": {
        const fault = rng.weighted(FRAMING_FAULTS);
        return { ...req({ path: path(unary), steps: [{ send: badEnvelope(rng, encode(unary, request(rng, unary)), fault) }, { end: true }], mustAnswer: true }), name: `unary-framing/${fault}` };
      }
      case "unary-empty":
        // No message at all, or one of zero bytes (every field at its default).
        return req({ path: path(unary), steps: rng.chance(0.5) ? [{ end: true }] : [{ send: envelope(new Uint8Array(0)) }, { end: true }], mustAnswer: true });
      case "unary-two": {
        const m = encode(unary, request(rng, unary));
        return req({ path: path(unary), steps: [{ send: concat(envelope(m), envelope(m)) }, { end: true }], mustAnswer: true });
      }
      case "compression": {
        const m = encode(unary, request(rng, unary));
        // A bomb inflates to 17 MB: about one case in 2,000.
        const variant = rng.weighted([[1, "gzip-garbage"], [1, "gzip-valid"], [1, "unknown-encoding"], [1, "identity-flagged"], [0.05, "bomb"]] as const);
        const headers = { ...GRPC_HEADERS, "grpc-encoding": variant === "unknown-encoding" ? "br" : variant === "identity-flagged" ? "identity" : "gzip" };
        const body = variant === "gzip-garbage" ? envelope(rng.bytes(rng.int(1, 100)), 1)
          : variant === "gzip-valid" ? envelope(new Uint8Array(gzipSync(m)), 1)
            : variant === "bomb" ? envelope(gzipBomb(), 1)
              : envelope(m, 1);
        return { ...req({ path: path(unary), headers, steps: [{ send: body }, { end: true }], mustAnswer: true }), name: `compression/${variant}` };
      }
      case "unknown-method": {
        const p = rng.pick([`/${SERVICE}/Nope`, "/x.Y/Z", "/", `/${SERVICE}/`, `/${SERVICE}`, `/${"a".repeat(rng.int(100, 8000))}/b`, "/lipsync.v1.LipSyncService/renderframe", "/%00/%ff", "/grpc.health.v1.Health/Nope"]);
        return req({ path: p, steps: [{ send: envelope(new Uint8Array(0)) }, { end: true }], mustAnswer: true });
      }
      case "bad-headers": {
        const headers = rng.pick<Record<string, string>>([
          { "content-type": "text/plain", te: "trailers" },
          { "content-type": "application/grpc+json", te: "trailers" },
          { "content-type": "application/grpc+xml", te: "trailers" },
          { "content-type": "application/grpc" },
          { ...GRPC_HEADERS, "grpc-timeout": rng.pick(["abc", "1n", "99999999H", "-5S", "1m", "0S", ""]) },
          { ...GRPC_HEADERS, "grpc-accept-encoding": "\u0001junk" },
          { ...GRPC_HEADERS, "x-big": "v".repeat(rng.int(1000, 12000)) },
        ]);
        return { ...req({ path: path(unary), headers, steps: [{ send: envelope(encode(unary, request(rng, unary))) }, { end: true }], mustAnswer: true }), name: `bad-headers/${Object.entries(headers).map(([k, v]) => `${k}=${v.slice(0, 20)}`).join(",")}` };
      }
      case "speak": {
        const speak = METHODS.find((m) => m.name === "Speak")!;
        const msgs = speakSequence(rng).map((m) => envelope(encode(speak, m)));
        const ending = rng.weighted([[6, "end"], [1, "rst-no-error"], [1, "rst-cancel"], [1, "kill"], [1, "garbage"]] as const);
        const steps: Step[] = msgs.flatMap((m) => (rng.chance(0.2) ? [{ send: m }, { pauseMs: rng.int(1, 30) }] : [{ send: m }]));
        if (ending === "garbage") steps.push({ send: envelope(brokenProtobuf(rng, speak)) }, { end: true });
        else if (ending === "end") steps.push({ end: true });
        else if (ending === "kill") steps.push({ pauseMs: rng.int(0, 50) }, { kill: true });
        else steps.push({ pauseMs: rng.int(0, 50) }, { reset: ending === "rst-no-error" ? http2.constants.NGHTTP2_NO_ERROR : http2.constants.NGHTTP2_CANCEL });
        return { ...req({ path: path(speak), steps, mustAnswer: ending === "end" || ending === "garbage", timeoutMs: 20_000 }), name: `speak/${ending}` };
      }
      case "speak-audio": {
        const m = METHODS.find((x) => x.name === "SpeakAudio")!;
        return req({ path: path(m), steps: [{ send: envelope(encode(m, request(rng, m))) }, { end: true }], mustAnswer: true, timeoutMs: 20_000 });
      }
      case "stream-render": {
        const m = METHODS.find((x) => x.name === "StreamRender")!;
        const steps: Step[] = [];
        for (let i = rng.int(0, 4); i > 0; i--) steps.push({ send: rng.chance(0.7) ? envelope(encode(m, request(rng, m))) : badEnvelope(rng, brokenProtobuf(rng, m), rng.weighted(FRAMING_FAULTS)) });
        steps.push({ end: true });
        return req({ path: path(m), steps, mustAnswer: true, timeoutMs: 15_000 });
      }
      case "cut": {
        // A message cut in the middle, then the stream reset or the connection dropped.
        const m = rng.pick(METHODS);
        const whole = envelope(encode(m, request(rng, m)));
        const how = rng.pick(["rst-no-error", "rst-cancel", "rst-protocol", "kill"] as const);
        const steps: Step[] = [{ send: whole.subarray(0, rng.int(1, Math.max(1, whole.length - 1))) }, { pauseMs: rng.int(0, 20) }];
        steps.push(how === "kill" ? { kill: true } : { reset: how === "rst-no-error" ? 0 : how === "rst-cancel" ? 8 : 1 });
        return { ...req({ path: path(m), steps, mustAnswer: false }), name: `cut/${how}/${m.name}` };
      }
      case "h2-frames":
        return { name: "h2-frames", run: () => rawFrames(rng, this.port) };
      case "huge": {
        // Over the 16 MiB message limit (about one case in 1,000): a status is owed without reading it all.
        const m = rng.pick(UNARY);
        const size = rng.pick([16 * 1024 * 1024 + 1, 20 * 1024 * 1024]);
        return req({ path: path(m), steps: [{ send: envelope(new Uint8Array(size)) }, { end: true }], mustAnswer: true, timeoutMs: 30_000 });
      }
    }
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}

/** The preface, then random HTTP/2 frames on a fresh socket: the server must survive and stay responsive. */
function rawFrames(rng: Rng, port: number): Promise<{ answer: string; verdict: { detail: string } }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let got = "";
    const frame = (type: number, flags: number, stream: number, payload: Uint8Array, length = payload.length) => {
      const h = Buffer.alloc(9);
      h.writeUIntBE(length & 0xffffff, 0, 3);
      h[3] = type;
      h[4] = flags;
      h.writeUInt32BE(stream >>> 0, 5);
      return Buffer.concat([h, payload]);
    };
    const parts: Buffer[] = [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0, new Uint8Array(0))];
    for (let i = rng.int(1, 6); i > 0; i--) {
      const type = rng.weighted([[3, rng.int(0, 9)], [1, rng.int(10, 255)]]);
      const payload = rng.bytes(rng.weighted([[4, rng.int(0, 32)], [1, rng.int(33, 20000)]]));
      const length = rng.chance(0.2) ? rng.int(0, 0xffffff) : payload.length;
      parts.push(frame(type, rng.int(0, 255), rng.weighted([[2, 0], [3, rng.int(1, 9) * 2 + 1], [1, rng.int(0, 2 ** 31 - 1)]]), payload, length));
    }
    socket.on("data", (d) => (got = got || (d.length >= 9 ? `frame type ${d[3]}` : "bytes")));
    socket.on("error", () => undefined);
    socket.on("connect", () => socket.write(Buffer.concat(parts)));
    setTimeout(() => {
      socket.destroy();
      resolve({ answer: `h2-frames ${socket.closed ? "closed" : got || "silent"}`, verdict: { detail: got } });
    }, rng.int(50, 300));
  });
}
