/**
 * Plain HTTP routes beside the RPCs: /healthz, /metrics and static files (the player page, the
 * web component bundle, sample audio) from configured mounts. Paths are resolved inside their
 * mount, after symlinks: anything whose real path escapes the mount's real path is a 404, and so
 * is every file system error (a name too long, a file used as a folder): a request can never
 * crash the server or learn what lies outside a mount.
 */
import { createReadStream, realpathSync, statSync } from "node:fs";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import path from "node:path";
import type { LipSyncApp } from "../app.js";
import { asLipSyncError } from "../errors.js";
import { bearerToken, type Access } from "./access.js";
import { protocolOf } from "./rpc-metrics.js";
import { HTTP_STATUS } from "./status.js";
import { requestUrl } from "./request-target.js";
import { answerUnimplemented, rpcProcedure } from "./unimplemented.js";

export interface StaticMount {
  /** URL prefix, starting and ending with "/". */
  prefix: string;
  dir: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".wav": "audio/wav", ".png": "image/png", ".jpg": "image/jpeg",
  ".svg": "image/svg+xml", ".map": "application/json", ".mp4": "video/mp4",
};

/** The request and response types connect-node's handler takes (HTTP/1.1 or HTTP/2). */
type Req = Parameters<ReturnType<typeof connectNodeAdapter>>[0];
type Res = Parameters<ReturnType<typeof connectNodeAdapter>>[1];

/** A mount's real root, resolved once (undefined when the folder does not exist). */
const realRoots = new Map<string, string | undefined>();

function realRoot(dir: string): string | undefined {
  if (!realRoots.has(dir)) {
    let real: string | undefined;
    try {
      real = realpathSync(dir);
    } catch {
      real = undefined;
    }
    realRoots.set(dir, real);
  }
  return realRoots.get(dir);
}

/** The file a URL path names, or undefined; never throws. */
export function resolveFile(mounts: StaticMount[], urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  for (const m of mounts) {
    if (!decoded.startsWith(m.prefix)) continue;
    let rel = decoded.slice(m.prefix.length);
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const root = realRoot(m.dir);
    if (!root) continue;
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep)) continue;
    try {
      // Symlinks inside the mount may point anywhere: check where the file really is.
      const real = realpathSync(file);
      if (real.startsWith(root + path.sep) && statSync(real).isFile()) return real;
    } catch {
      // ENOENT, ENOTDIR, ENAMETOOLONG, EACCES, ELOOP...: not a file we serve.
    }
  }
  return undefined;
}

export function httpRoutes(app: LipSyncApp, mounts: StaticMount[], access?: Access) {
  return (req: Req, res: Res): void => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    const url = requestUrl(req.url);
    if (!url) {
      send(400, "text/plain", "bad request target\n");
      return;
    }
    const procedure = rpcProcedure(req);
    if (procedure) {
      // Only our own services' names become label values: anything else could grow the series without bound.
      const protocol = protocolOf(req.headers["content-type"]);
      app.stats.unimplemented(/^(lipsync\.v1\.LipSyncService|grpc\.health\.v1\.Health)\//.test(procedure) ? procedure : "unknown/unknown", protocol);
      answerUnimplemented(req, res, procedure);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(405, "text/plain", "method not allowed\n");
      return;
    }
    if (url.pathname === "/healthz" || url.pathname === "/readyz") {
      // /healthz: the process is alive (always 200). /readyz: send new sessions here (200) or
      // not (503: no avatar loaded, at capacity, shutting down).
      const r = app.readiness();
      const body = { status: "ok", ready: r.serving, reason: r.reason, avatars: app.registry.loadedAvatars().map((a) => a.name), sessions: app.sessionCount, capacity_used: Number(app.admission.used.toFixed(3)) };
      send(url.pathname === "/readyz" && !r.serving ? 503 : 200, "application/json", JSON.stringify(body) + "\n");
      return;
    }
    if (url.pathname === "/metrics") {
      // Process internals: only for callers with a token when authentication is on.
      try {
        access?.authenticate(bearerToken(req.headers.authorization), req.socket?.remoteAddress ?? "");
      } catch (err) {
        const e = asLipSyncError(err);
        res.writeHead(HTTP_STATUS[e.code], { "content-type": "text/plain", "cache-control": "no-store", "www-authenticate": "Bearer" });
        res.end(`${e.message}\n`);
        return;
      }
      app.stats.registry.metrics().then(
        (text) => send(200, app.stats.registry.contentType, text),
        () => send(500, "text/plain", "metrics unavailable\n"),
      );
      return;
    }
    const file = resolveFile(mounts, url.pathname);
    if (!file) {
      send(404, "text/plain", "not found\n");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(file).on("error", () => res.destroy()).pipe(res as unknown as NodeJS.WritableStream);
  };
}
