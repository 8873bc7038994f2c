/**
 * The answer to an RPC nobody implements (a typo, an older server), in the caller's protocol:
 * UNIMPLEMENTED, as gRPC, gRPC-Web and Connect clients expect, instead of an HTTP 405 that
 * they would report as UNKNOWN. Requests that are not RPC-shaped fall through to the files.
 */
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { requestUrl } from "./request-target.js";

type Req = Parameters<ReturnType<typeof connectNodeAdapter>>[0];
type Res = Parameters<ReturnType<typeof connectNodeAdapter>>[1];

const RPC_PATH = /^\/([A-Za-z_][\w.]*)\/([A-Za-z_]\w*)$/;
const CONNECT_TYPES = /^application\/(connect\+)?(proto|json)\b/;

/** The procedure an RPC-shaped request names ("pkg.Service/Method"), else undefined. */
export function rpcProcedure(req: Req): string | undefined {
  if (req.method !== "POST") return undefined;
  const path = requestUrl(req.url)?.pathname;
  if (path === undefined) return undefined;
  const m = RPC_PATH.exec(path);
  if (!m || m[0].length > 256) return undefined;
  const type = String(req.headers["content-type"] ?? "");
  if (!type.startsWith("application/grpc") && !CONNECT_TYPES.test(type)) return undefined;
  return `${m[1]}/${m[2]}`;
}

/** Answers UNIMPLEMENTED for `procedure` in the request's protocol. */
export function answerUnimplemented(req: Req, res: Res, procedure: string): void {
  const message = `method ${procedure} is not implemented by this server`;
  const type = String(req.headers["content-type"] ?? "");
  if (type.startsWith("application/grpc")) {
    // gRPC and gRPC-Web: a trailers-only response, the status in the headers.
    res.writeHead(200, { "content-type": type.split(";")[0]!, "grpc-status": "12", "grpc-message": encodeURIComponent(message) });
    res.end();
    return;
  }
  // Connect, unary and streaming: HTTP 404 with the Connect error body.
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ code: "unimplemented", message }));
}
