/**
 * A Connect interceptor that times every RPC and records its status code, for the
 * grpc_server_handled_total / grpc_server_handling_seconds metrics. A stream counts from the
 * request to its last message or error.
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RpcRecord, Stats } from "../metrics.js";

const TYPES: Record<string, string> = { unary: "unary", server_streaming: "server_stream", client_streaming: "client_stream", bidi_streaming: "bidi_stream" };

/** Which of the three RPC protocols a request speaks, by its content type. */
export function protocolOf(contentType: string | null | undefined): RpcRecord["protocol"] {
  const type = contentType ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

function codeName(err: unknown): string {
  const code = ConnectError.from(err).code;
  return Code[code] ?? "Unknown";
}

export function rpcMetrics(stats: Stats): Interceptor {
  return (next) => async (req) => {
    const start = performance.now();
    let recorded = false;
    const record = (code: string) => {
      if (recorded) return;
      recorded = true;
      stats.rpc({
        service: req.method.parent.typeName, method: req.method.name, type: TYPES[req.method.methodKind] ?? req.method.methodKind,
        code, protocol: protocolOf(req.header.get("content-type")), seconds: (performance.now() - start) / 1000,
      });
    };
    let res;
    try {
      res = await next(req);
    } catch (err) {
      record(codeName(err));
      throw err;
    }
    if (!res.stream) {
      record("OK");
      return res;
    }
    const messages = res.message;
    async function* observed() {
      try {
        yield* messages;
        record("OK");
      } catch (err) {
        record(codeName(err));
        throw err;
      } finally {
        record("Canceled");
      }
    }
    return { ...res, message: observed() };
  };
}
