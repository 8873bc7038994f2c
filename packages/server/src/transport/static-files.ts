/**
 * Plain HTTP routes beside the RPCs: /healthz, /metrics and static files (the player page, the
 * web component bundle, sample audio) from configured mounts. Paths are resolved inside their
 * mount and anything that escapes it is a 404.
 */
import { createReadStream, statSync } from "node:fs";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import path from "node:path";
import type { LipSyncApp } from "../app.js";

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

function resolveFile(mounts: StaticMount[], urlPath: string): string | undefined {
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
    const root = path.resolve(m.dir);
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep)) continue;
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) return file;
  }
  return undefined;
}

export function httpRoutes(app: LipSyncApp, mounts: StaticMount[]) {
  return (req: Req, res: Res): void => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(405, "text/plain", "method not allowed\n");
      return;
    }
    if (url.pathname === "/healthz" || url.pathname === "/readyz") {
      // /healthz: the process is alive (always 200). /readyz: send new sessions here (200) or
      // not (503: no avatar loaded, at capacity, shutting down).
      const r = app.readiness();
      const body = { status: "ok", ready: r.serving, reason: r.reason, avatars: app.registry.loadedAvatars().map((a) => a.name), sessions: app.sessionCount, capacity_used: Number(app.capacityUsed.toFixed(3)) };
      send(url.pathname === "/readyz" && !r.serving ? 503 : 200, "application/json", JSON.stringify(body) + "\n");
      return;
    }
    if (url.pathname === "/metrics") {
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
