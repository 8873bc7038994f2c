/**
 * Which web pages may talk to this server (docs/protocol.md, "Origins"). One policy for every
 * route on the port: the RPCs (gRPC-Web and Connect), static files, /healthz, /metrics and the
 * WebSocket.
 *
 * - No Origin header (curl, gRPC and Node clients, plain navigation): always served.
 * - Origin naming this server's own host (the page came from here): always served.
 * - Origin listed in `allowOrigins` (or `*` listed): served with CORS headers, per connect-es's
 *   list of the headers Connect, gRPC-Web and gRPC need (`cors` of @connectrpc/connect).
 * - Any other Origin: 403 with a plain-text reason, preflights included; a WebSocket upgrade is
 *   refused with 403 before the handshake, so a page elsewhere cannot drive a local server.
 */
import type { IncomingHttpHeaders } from "node:http";
import { cors } from "@connectrpc/connect";
import type { connectNodeAdapter } from "@connectrpc/connect-node";

export { normaliseOrigins } from "../config.js";

export type OriginVerdict =
  | { kind: "none" }
  | { kind: "same"; origin: string }
  | { kind: "allowed"; origin: string }
  | { kind: "refused"; origin: string };

function hostOf(headers: IncomingHttpHeaders): string | undefined {
  const h = headers[":authority"] ?? headers.host;
  return typeof h === "string" ? h.toLowerCase() : undefined;
}

/** What the policy says about one request (HTTP/1.1, HTTP/2 or a WebSocket upgrade). */
export function checkOrigin(headers: IncomingHttpHeaders, allowOrigins: readonly string[]): OriginVerdict {
  const origin = headers.origin;
  if (typeof origin !== "string" || origin === "") return { kind: "none" };
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    originHost = undefined; // "null" (a file:// page, a sandboxed frame) or garbage
  }
  if (originHost && originHost === hostOf(headers)) return { kind: "same", origin };
  const normal = originHost ? new URL(origin).origin : origin;
  if (allowOrigins.includes("*") || allowOrigins.includes(normal)) return { kind: "allowed", origin };
  return { kind: "refused", origin };
}

export function refusalText(origin: string): string {
  return `origin ${origin} is not allowed: start the server with --allow-origin ${origin} (or --allow-origin '*')\n`;
}

const ALLOW_HEADERS = [...cors.allowedHeaders, "Authorization"].join(", ");
const EXPOSE_HEADERS = cors.exposedHeaders.join(", ");
const ALLOW_METHODS = [...cors.allowedMethods, "HEAD"].join(", ");
/** Browsers cap this (Chromium at 2 h); it saves one preflight per call. */
const PREFLIGHT_MAX_AGE_S = 7200;

/** connect-node's handler type: HTTP/1.1 and HTTP/2 requests alike. */
type Handler = ReturnType<typeof connectNodeAdapter>;

/**
 * Wraps an HTTP handler with the origin policy: answers preflights, refuses unknown origins and
 * adds the CORS response headers for allowed ones.
 */
export function withOriginPolicy(handler: Handler, allowOrigins: readonly string[]): Handler {
  return (req, res) => {
    const verdict = checkOrigin(req.headers, allowOrigins);
    if (verdict.kind === "none" || verdict.kind === "same") {
      handler(req, res);
      return;
    }
    res.setHeader("vary", "Origin");
    if (verdict.kind === "refused") {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(refusalText(verdict.origin));
      return;
    }
    res.setHeader("access-control-allow-origin", verdict.origin);
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      res.writeHead(204, {
        "access-control-allow-methods": ALLOW_METHODS,
        "access-control-allow-headers": ALLOW_HEADERS,
        "access-control-max-age": String(PREFLIGHT_MAX_AGE_S),
      });
      res.end();
      return;
    }
    res.setHeader("access-control-expose-headers", EXPOSE_HEADERS);
    handler(req, res);
  };
}
