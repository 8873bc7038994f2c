/** lipsync serve: the one-port server over the avatar roots. */
import { spawn } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { Gauge } from "prom-client";
import { LipSyncApp } from "../app.js";
import { FRAME_MS } from "../audio/constants.js";
import { DEFAULTS, deviceName, resolveConfig } from "../config.js";
import { silentLogger } from "../logger.js";
import { startServer } from "../server.js";
import { defaultStaticMounts } from "../static-mounts.js";
import { checkAvatarFolders, checkPortFree } from "./checks.js";
import { intOption, listOption, stringOption, UsageError, type Command, type Values } from "./options.js";
import { AVATAR_OPTIONS, serverOptions } from "./server-options.js";

function allAvatarNames(roots: string[]): string[] {
  const app = new LipSyncApp(resolveConfig({ avatarRoots: roots }), silentLogger());
  return app.registry.names();
}

/** Tokens and the JWT key from --auth-token, --auth-token-file, --admin-token, --jwt-public-key. */
function accessOptions(values: Values): { authTokens: string[]; adminTokens: string[]; jwtPublicKey: string | undefined } {
  const authTokens = listOption(values, "auth-token");
  const file = stringOption(values, "auth-token-file");
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new UsageError(`--auth-token-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    const tokens = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
    if (tokens.length === 0) throw new UsageError(`--auth-token-file: ${file} holds no token`);
    authTokens.push(...tokens);
  }
  const keyFile = stringOption(values, "jwt-public-key");
  let jwtPublicKey: string | undefined;
  if (keyFile) {
    try {
      jwtPublicKey = readFileSync(keyFile, "utf8");
      createPublicKey(jwtPublicKey);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`--jwt-public-key: ${code === "ENOENT" || code === "EACCES" ? `cannot read ${keyFile} (${code})` : `${keyFile} is not a PEM public key`}`);
    }
  }
  return { authTokens, adminTokens: listOption(values, "admin-token"), jwtPublicKey };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** Best effort: a desktop's browser, where there is one (headless machines just print the URL). */
function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const p = spawn(cmd, [url], { stdio: "ignore", detached: true });
  p.on("error", () => undefined);
  p.unref();
}

export const serve: Command = {
  name: "serve",
  summary: "serve avatars over gRPC, gRPC-Web, Connect and WebSocket on one port",
  options: [
    { name: "port", short: "p", value: "PORT", default: `${DEFAULTS.port} ($PORT)`, description: "TCP port; 0 picks a free one" },
    { name: "host", value: "ADDR", default: `${DEFAULTS.host} (this machine only)`, description: "address to listen on; 0.0.0.0 or :: opens the server to the network (then use --auth-token)" },
    { name: "preload", value: "NAME", multiple: true, default: "every avatar in the roots", description: "avatars to load at start (others load on first use)" },
    ...AVATAR_OPTIONS,
    { name: "allow-origin", value: "ORIGIN", multiple: true, default: "same origin only", description: "a web origin (https://app.example.com) whose pages may call this server, or '*' for any: CORS for RPCs and files, and the WebSocket's Origin check" },
    { name: "tls-cert", value: "FILE", description: "PEM certificate: serve HTTPS and gRPC over TLS on the same port" },
    { name: "tls-key", value: "FILE", description: "PEM private key of --tls-cert" },
    { name: "capacity", value: "N", default: "measured at load", description: "real-time sessions per avatar to admit; past it new sessions are refused (RESOURCE_EXHAUSTED, WebSocket 4429) and /readyz says 503" },
    { name: "max-latency-ms", value: "MS", default: String(DEFAULTS.maxFrameLatencyMs), description: "a live session's speech frame later than this is dropped (frames_dropped event) so the session catches up" },
    { name: "remeasure-idle", value: "SECONDS", default: String(DEFAULTS.capacityRemeasureIdleSeconds), description: "measure a measured capacity again once the server has had no session this long (0: only at load); between measurements live frames keep it current" },
    { name: "max-sessions", value: "N", default: String(DEFAULTS.maxSessions), description: "hard cap on concurrent sessions, whatever the capacity" },
    { name: "max-sessions-per-client", value: "N", default: "no limit but --max-sessions", description: "concurrent sessions one client may hold (per token, else per address)" },
    { name: "auth-token", value: "TOKEN", multiple: true, description: "a bearer token callers must present (authorization: Bearer TOKEN; WebSocket ?token= or subprotocol bearer.TOKEN); any token or key turns authentication on" },
    { name: "auth-token-file", value: "FILE", description: "a file of bearer tokens, one per line (# comments)" },
    { name: "admin-token", value: "TOKEN", multiple: true, description: "a bearer token that may also LoadAvatar and UnloadAvatar" },
    { name: "jwt-public-key", value: "FILE", description: "PEM public key (RSA, EC P-256, Ed25519) verifying JWT bearer tokens (RS256, ES256, EdDSA); claims avatars, max_sessions, scope \"admin\"" },
    { name: "rate-limit", value: "N", default: `${DEFAULTS.rateLimit}/s per client, bursts of ${DEFAULTS.rateBurst}`, description: "request/response calls one client may make a second (0: no limit)" },
    { name: "drain-seconds", value: "S", default: String(DEFAULTS.drainSeconds), description: "on SIGTERM, how long running utterances may take to finish before the rest are ended (going away)" },
    { name: "connections-per-address", value: "N", default: String(DEFAULTS.maxConnectionsPerAddress), description: "connections one client address (an IPv6 /64) may hold; behind a load balancer raise it, or 0 for no limit" },
    { name: "handshake-timeout-ms", value: "MS", default: String(DEFAULTS.handshakeTimeoutMs), description: "a connection must send its first bytes, finish TLS and (HTTP/2) send its SETTINGS each within this long" },
    { name: "headers-timeout-ms", value: "MS", default: String(DEFAULTS.headersTimeoutMs), description: "an HTTP/1.1 request's headers must be complete within this long, else 408" },
    { name: "keep-alive-timeout-ms", value: "MS", default: String(DEFAULTS.keepAliveTimeoutMs), description: "an idle HTTP/1.1 connection stays open this long for its next request; keep it above your load balancer's idle timeout" },
    { name: "access-log", description: "one line per RPC and WebSocket connection on stdout: method, status, duration, client (a token's hash or a JWT's sub, never the token), bytes" },
    { name: "http2-keepalive", value: "SECONDS", default: String(DEFAULTS.http2KeepaliveSeconds), description: "ping HTTP/2 connections this often and close one that has not answered by the next ping (a peer gone without closing); 0: never" },
    { name: "open", description: "open the demo page in the desktop's browser" },
  ],
  async run(values) {
    const options = serverOptions(values);
    const port = intOption(values, "port", 0, 65535) ?? (process.env.PORT ? Number(process.env.PORT) : undefined);
    const host = stringOption(values, "host");
    const allowOrigins = listOption(values, "allow-origin");
    const rateLimit = intOption(values, "rate-limit", 0, 1_000_000);
    const admission = {
      sessionCapacity: intOption(values, "capacity", 1, 100_000),
      capacityRemeasureIdleSeconds: intOption(values, "remeasure-idle", 0, 86_400),
      maxFrameLatencyMs: intOption(values, "max-latency-ms", FRAME_MS, 60_000),
      maxSessions: intOption(values, "max-sessions", 1, 100_000),
      maxSessionsPerClient: intOption(values, "max-sessions-per-client", 1, 100_000),
      drainSeconds: intOption(values, "drain-seconds", 0, 3600),
      ...accessOptions(values),
      rateLimit,
      rateBurst: rateLimit === undefined ? undefined : Math.max(1, 2 * rateLimit),
      http2KeepaliveSeconds: intOption(values, "http2-keepalive", 0, 86_400),
      maxConnectionsPerAddress: intOption(values, "connections-per-address", 0, 1_000_000),
      handshakeTimeoutMs: intOption(values, "handshake-timeout-ms", 0, 600_000),
      headersTimeoutMs: intOption(values, "headers-timeout-ms", 1, 300_000),
      keepAliveTimeoutMs: intOption(values, "keep-alive-timeout-ms", 1, 3_600_000),
      accessLog: values["access-log"] === true ? true : undefined,
    };
    // Cheap checks first: a typo in a folder, a busy port or a bad origin is reported before any model loads.
    checkAvatarFolders(options.avatarRoots!);
    resolveConfig({ ...options, ...admission, port, host, allowOrigins });
    await checkPortFree(port ?? DEFAULTS.port, host ?? DEFAULTS.host);
    const given = listOption(values, "preload");
    const preload = given.length ? given : allAvatarNames(options.avatarRoots!);
    const server = await startServer({
      ...options, ...admission, port, host, preloadAvatars: preload, allowOrigins, staticMounts: defaultStaticMounts(),
    });
    // What a person starting the server reads (the URL to open); events go to the logger.
    const { config, logger } = server.app;
    // Which device this process serves on (one process per GPU), as an info metric that
    // dashboards join on the scrape target: every other series stays as it is.
    new Gauge({ name: "lipsync_device_info", help: "The device this server process runs its models on (--device), always 1", labelNames: ["device"], registers: [server.app.stats.registry] })
      .set({ device: deviceName(config.device) }, 1);
    const banner = [
      `lipsync serving ${server.app.registry.loadedAvatars().map((a) => a.name).join(", ") || "(no avatars)"}`,
      `open ${server.url}/ in a browser (gRPC, gRPC-Web, Connect and WebSocket /ws on this port)`,
    ];
    const tokens = config.authTokens.length || config.adminTokens.length || config.jwtPublicKey;
    if (tokens) banner.push("bearer tokens required (--auth-token, --admin-token, --jwt-public-key); /healthz, /readyz and the player page stay public");
    if (allowOrigins.length) banner.push(`pages from ${allowOrigins.includes("*") ? "any origin" : allowOrigins.join(", ")} may call this server (--allow-origin)`);
    process.stdout.write(banner.join("\n") + "\n");
    if (!tokens && !isLoopback(config.host)) logger.warn({ host: config.host }, "listening beyond this machine without --auth-token: anyone who can reach this port can use it");
    if (values.open) openBrowser(`${server.url}/`);
    // SIGTERM or Ctrl-C: drain (utterances finish, up to --drain-seconds), then exit 0; a
    // second signal exits at once.
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(1);
      stopping = true;
      server.drain().then(() => process.exit(0), () => process.exit(1));
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  },
};
