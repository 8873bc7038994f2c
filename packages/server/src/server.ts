/**
 * The server assembled: the app (avatars, sessions, stats) behind Connect-RPC, WebSocket and
 * plain HTTP routes, all on one port. `startServer` is what the CLI and the tests call.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { LipSyncApp } from "./app.js";
import { resolveConfig, type ServerConfig, type ServerOptions } from "./config.js";
import type { Principal } from "./auth.js";
import { asLipSyncError, LipSyncError } from "./errors.js";
import { Access, wsToken } from "./transport/access.js";
import { AccessLog } from "./transport/access-log.js";
import { createLogger, type Logger } from "./logger.js";
import { LipSyncService, health } from "@lipsync/proto";
import { lipSyncRoutes } from "./transport/connect.js";
import { reflectionRoutes } from "./transport/reflection.js";
import { rpcMetrics } from "./transport/rpc-metrics.js";
import { createOnePortServer } from "./transport/one-port.js";
import { checkOrigin, refusalText, withOriginPolicy } from "./transport/origin.js";
import { requestUrl } from "./transport/request-target.js";
import { requestContextValues, withRequestContext } from "./transport/request-context.js";
import { httpRoutes, type StaticMount } from "./transport/static-files.js";
import { WebSocketEndpoint } from "./transport/ws.js";
import { roomSessionsOf } from "./transport/livekit/room-sessions.js";

export interface RunningServer {
  app: LipSyncApp;
  config: ServerConfig;
  port: number;
  /** http(s)://host:port for clients on this machine. */
  url: string;
  /**
   * Graceful shutdown: readiness NOT_SERVING and new sessions refused at once, GOAWAY to HTTP/2
   * peers, no new connections; running utterances may finish for up to `drainMs` (default
   * `drainSeconds`); then the remaining sessions end with "going away" (WebSocket 1001, gRPC
   * UNAVAILABLE) and the server closes.
   */
  drain(drainMs?: number): Promise<void>;
  /** Shuts down without waiting for utterances (a drain of 0). */
  close(): Promise<void>;
}

/** How often the drain checks for utterances still running, ms. */
const DRAIN_POLL_MS = 50;

export interface StartOptions extends ServerOptions {
  logger?: Logger;
  /** Where the access log goes (`accessLog`); default: the logger's stream at level info. */
  accessLogger?: Logger;
  staticMounts?: StaticMount[];
}

/** While draining, HTTP/1.1 connections close after their current response (each still sees readiness go). */
function withDrain(app: LipSyncApp, handler: ReturnType<typeof connectNodeAdapter>): ReturnType<typeof connectNodeAdapter> {
  return (req, res) => {
    if (app.admission.draining && req.httpVersionMajor === 1) res.setHeader("connection", "close");
    handler(req, res);
  };
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const { logger: givenLogger, accessLogger, staticMounts = [], ...rest } = options;
  const config = resolveConfig(rest);
  const logger = givenLogger ?? createLogger(config.logLevel);
  const app = new LipSyncApp(config, logger);
  await app.start();

  const access = new Access({
    authTokens: config.authTokens, adminTokens: config.adminTokens, jwtPublicKey: config.jwtPublicKey, rateLimit: config.rateLimit, rateBurst: config.rateBurst,
  });
  // Its own level: the access log is on or off, whatever --log-level says.
  const accessLog = config.accessLog ? new AccessLog(accessLogger ?? logger.child({}, { level: "info" })) : undefined;
  const ws = new WebSocketEndpoint(app, access, accessLog);
  const rpc = withOriginPolicy(withDrain(app, withRequestContext(connectNodeAdapter({
    routes: (router) => {
      lipSyncRoutes(app)(router);
      reflectionRoutes(router, [LipSyncService, health.Health]);
    },
    interceptors: [...(accessLog ? [accessLog.interceptor()] : []), rpcMetrics(app.stats), access.interceptor(logger)],
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes,
    contextValues: accessLog ? accessLog.contextValues(requestContextValues) : requestContextValues,
    fallback: httpRoutes(app, staticMounts, access),
  }))), config.allowOrigins);
  const handler = accessLog ? accessLog.wrap(rpc) : rpc;
  const server = createOnePortServer(handler, (req, socket, head) => {
    const path = requestUrl(req.url)?.pathname;
    const origin = checkOrigin(req.headers, config.allowOrigins);
    if (origin.kind === "refused") {
      // Before the handshake: browsers report a failed connection (close 1006), other clients see the 403.
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n\r\n${refusalText(origin.origin)}`);
    } else if (path === "/ws") {
      let caller: Principal | LipSyncError;
      try {
        caller = access.authenticate(wsToken(req.url, req.headers), req.socket.remoteAddress ?? "");
      } catch (err) {
        caller = asLipSyncError(err);
      }
      ws.handleUpgrade(req, socket, head, caller);
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
    }
  }, config.tls, {
    maxConcurrentStreams: config.maxConcurrentStreams,
    // Room for a whole message at the limit in flight on a connection, and Node's own 10 MB.
    maxSessionMemoryMb: Math.ceil((2 * config.maxMessageBytes) / 2 ** 20) + 10,
    resets: { burst: config.streamResetBurst, rate: config.streamResetRate },
    keepaliveMs: config.http2KeepaliveSeconds * 1000,
    // A drain (SIGTERM) closes connections gracefully: keepalive leaves them that long at least.
    closingGraceMs: Math.max(2 * config.http2KeepaliveSeconds, config.drainSeconds) * 1000,
  }, {
    maxPerAddress: config.maxConnectionsPerAddress, handshakeTimeoutMs: config.handshakeTimeoutMs, headersTimeoutMs: config.headersTimeoutMs,
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    onRefused: (address) => logger.warn({ address, limit: config.maxConnectionsPerAddress }, "connections refused: address at its connection limit"),
  });
  const port = await server.listen(config.port, config.host);
  const scheme = config.tls ? "https" : "http";
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  logger.info({ port, tls: Boolean(config.tls), avatars: app.registry.loadedAvatars().map((a) => a.name), device: config.device, memory: config.memory }, "server listening");

  let closing: Promise<void> | undefined;
  const drain = (drainMs: number): Promise<void> => {
    closing ??= (async () => {
      const started = performance.now();
      const { sessions } = app;
      logger.info({ drainMs, sessions: sessions.count, speaking: sessions.speaking }, "server draining");
      app.admission.startDraining();
      server.stopAccepting();
      while (sessions.speaking > 0 && performance.now() - started < drainMs) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
      logger.info({ ms: Math.round(performance.now() - started), cut: sessions.speaking, sessions: sessions.count }, "server shutting down");
      // Sockets first, so that WebSocket clients see 1001 (going away) rather than their session's error.
      ws.close();
      await roomSessionsOf(app).closeAll();
      sessions.endAll(new LipSyncError("unavailable", "server is shutting down", { retryAfterMs: config.retryAfterMs }));
      await server.close(config.closeGraceMs);
      await app.close();
    })();
    return closing;
  };
  return {
    app,
    config,
    port,
    url: `${scheme}://${host}:${port}`,
    drain: (drainMs = config.drainSeconds * 1000) => drain(drainMs),
    close: () => drain(0),
  };
}
