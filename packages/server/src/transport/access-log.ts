/**
 * The access log (`--access-log`): one line per RPC and per WebSocket connection, on the
 * server's log stream with `log: "access"`, whatever the log level:
 *
 *   {"log":"access","kind":"rpc","method":"lipsync.v1.LipSyncService/RenderFrame","protocol":"grpc",
 *    "status":"OK","ms":41,"client":"token:3f2a9c01b7de","bytes_in":12,"bytes_out":31877,"msg":"access"}
 *
 * `client` is the caller as auth.ts names it (a hash of its token, a JWT's `sub`, or `addr:IP`
 * when authentication is off or the token was refused), never a token. Bytes are the request
 * and response bodies as framed on the wire (messages and their envelopes; no headers). No
 * audio, text or message contents are logged.
 *
 * Three parts cooperate: `wrap` (the Node handler: times the exchange, counts body bytes,
 * writes the line when the response closes), `interceptor` (names the method, its status and
 * the caller once the access interceptor has authenticated it) and `websocket` (ws.ts).
 */
import { Code, ConnectError, createContextKey, type ContextValues, type Interceptor } from "@connectrpc/connect";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Principal } from "../auth.js";
import type { Logger } from "../logger.js";
import { principalOf } from "./access.js";
import { rpcProcedure } from "./unimplemented.js";

type Handler = ReturnType<typeof connectNodeAdapter>;
type Req = Parameters<Handler>[0];

/** What one exchange's line says, filled in as it goes. */
interface RpcRecord {
  method: string | undefined;
  status: string | undefined;
  client: string | undefined;
}

const RECORD = createContextKey<RpcRecord | undefined>(undefined, { description: "lipsync access record" });

function protocolOf(contentType: string | undefined): string {
  const type = contentType ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

function byteLength(chunk: unknown): number {
  if (typeof chunk === "string") return Buffer.byteLength(chunk);
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/** A caller named as auth.ts names it, or by its address when there is no principal. */
function clientOf(principal: Principal | undefined, remoteAddress: string | undefined): string {
  return principal?.id ?? `addr:${remoteAddress ?? ""}`;
}

export interface WsAccess {
  received(bytes: number): void;
  sent(bytes: number): void;
  /** The socket closed with `code`; writes the line. */
  end(code: number): void;
}

export class AccessLog {
  private readonly records = new WeakMap<Req, RpcRecord>();

  constructor(private readonly logger: Logger) {}

  /** Wraps the Node handler: every RPC-shaped exchange gets its line when its response closes. */
  wrap(handler: Handler): Handler {
    return (req, res) => {
      const procedure = rpcProcedure(req);
      if (!procedure) {
        handler(req, res);
        return;
      }
      const started = performance.now();
      // Now: an HTTP/2 stream's socket may be gone by the time the response closes.
      const remoteAddress = req.socket?.remoteAddress;
      const record: RpcRecord = { method: undefined, status: undefined, client: undefined };
      this.records.set(req, record);
      let bytesIn = 0;
      let bytesOut = 0;
      let grpcStatus: string | undefined;
      // Counted where the bytes pass, without reading the streams ourselves: push() feeds the
      // request body to whoever reads it (HTTP/1.1 parser and HTTP/2 alike), write()/end()
      // take the response body.
      const push = req.push.bind(req);
      req.push = (chunk: unknown, encoding?: BufferEncoding) => {
        bytesIn += byteLength(chunk);
        return push(chunk, encoding);
      };
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      (res as { write: (...args: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
        bytesOut += byteLength(chunk);
        return write(chunk, ...rest);
      };
      const end = res.end.bind(res) as (...args: unknown[]) => unknown;
      (res as { end: (...args: unknown[]) => unknown }).end = (chunk?: unknown, ...rest: unknown[]) => {
        if (typeof chunk !== "function") bytesOut += byteLength(chunk);
        return end(chunk, ...rest);
      };
      const addTrailers = res.addTrailers.bind(res) as (t: Record<string, unknown>) => void;
      (res as { addTrailers: (t: Record<string, unknown>) => void }).addTrailers = (trailers) => {
        if (trailers["grpc-status"] !== undefined) grpcStatus = String(trailers["grpc-status"]);
        addTrailers(trailers);
      };
      res.once("close", () => {
        // Without an interceptor's word (connect refused the request before any ran), the
        // protocol's own status: grpc-status in the headers or trailers, else the HTTP status.
        const header = res.getHeader("grpc-status");
        const grpc = grpcStatus ?? (header === undefined ? undefined : String(header));
        const status = record.status ?? (!res.writableFinished ? "Canceled" : grpc !== undefined ? Code[Number(grpc)] ?? grpc : String(res.statusCode));
        this.logger.info({
          log: "access", kind: "rpc", method: record.method ?? procedure, protocol: protocolOf(req.headers["content-type"]), status,
          ms: Math.round(performance.now() - started), client: record.client ?? clientOf(undefined, remoteAddress), bytes_in: bytesIn, bytes_out: bytesOut,
        }, "access");
      });
      handler(req, res);
    };
  }

  /** connect-node's `contextValues`: `base`'s values, and this exchange's record. */
  contextValues(base: (req: Req) => ContextValues): (req: Req) => ContextValues {
    return (req) => base(req).set(RECORD, this.records.get(req));
  }

  /**
   * Names the method, its status and the caller. It must come first among the interceptors:
   * the caller is known once the access interceptor inside it has run.
   */
  interceptor(): Interceptor {
    return (next) => async (req) => {
      const record = req.contextValues.get(RECORD);
      if (!record) return next(req);
      record.method = `${req.method.parent.typeName}/${req.method.name}`;
      const settle = (status: string) => {
        record.status ??= status;
        record.client ??= principalOf({ values: req.contextValues })?.id;
      };
      let res;
      try {
        res = await next(req);
      } catch (err) {
        settle(Code[ConnectError.from(err).code] ?? "Unknown");
        throw err;
      }
      if (!res.stream) {
        settle("OK");
        return res;
      }
      const messages = res.message;
      async function* observed() {
        try {
          yield* messages;
          settle("OK");
        } catch (err) {
          settle(Code[ConnectError.from(err).code] ?? "Unknown");
          throw err;
        } finally {
          settle("Canceled");
        }
      }
      return { ...res, message: observed() };
    };
  }

  /** A WebSocket connection that completed its handshake: count its messages, then call end(). */
  websocket(principal: Principal | undefined, remoteAddress: string | undefined): WsAccess {
    const started = performance.now();
    let bytesIn = 0;
    let bytesOut = 0;
    let messagesIn = 0;
    let messagesOut = 0;
    return {
      received: (n) => {
        bytesIn += n;
        messagesIn++;
      },
      sent: (n) => {
        bytesOut += n;
        messagesOut++;
      },
      end: (code) => {
        this.logger.info({
          log: "access", kind: "websocket", method: "/ws", status: code, ms: Math.round(performance.now() - started), client: clientOf(principal, remoteAddress),
          bytes_in: bytesIn, bytes_out: bytesOut, messages_in: messagesIn, messages_out: messagesOut,
        }, "access");
      },
    };
  }
}
