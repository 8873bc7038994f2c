/**
 * The server assembled: the app (avatars, sessions, stats) behind Connect-RPC, WebSocket and
 * plain HTTP routes, all on one port. `startServer` is what the CLI and the tests call.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { LipSyncApp } from "./app.js";
import { resolveConfig, type ServerConfig, type ServerOptions } from "./config.js";
import { LipSyncError } from "./errors.js";
import { createLogger, type Logger } from "./logger.js";
import { LipSyncService, health } from "@lipsync/proto";
import { lipSyncRoutes } from "./transport/connect.js";
import { reflectionRoutes } from "./transport/reflection.js";
import { rpcMetrics } from "./transport/rpc-metrics.js";
import { createOnePortServer } from "./transport/one-port.js";
import { checkOrigin, refusalText, withOriginPolicy } from "./transport/origin.js";
import { requestUrl } from "./transport/request-target.js";
import { httpRoutes, type StaticMount } from "./transport/static-files.js";
import { WebSocketEndpoint } from "./transport/ws.js";

export interface RunningServer {
  app: LipSyncApp;
  config: ServerConfig;
  port: number;
  /** http(s)://host:port for clients on this machine. */
  url: string;
  close(): Promise<void>;
}

export interface StartOptions extends ServerOptions {
  logger?: Logger;
  staticMounts?: StaticMount[];
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const { logger: givenLogger, staticMounts = [], ...rest } = options;
  const config = resolveConfig(rest);
  const logger = givenLogger ?? createLogger(config.logLevel);
  const app = new LipSyncApp(config, logger);
  await app.start();

  const ws = new WebSocketEndpoint(app);
  const handler = withOriginPolicy(connectNodeAdapter({
    routes: (router) => {
      lipSyncRoutes(app)(router);
      reflectionRoutes(router, [LipSyncService, health.Health]);
    },
    interceptors: [rpcMetrics(app.stats)],
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes,
    fallback: httpRoutes(app, staticMounts),
  }), config.allowOrigins);
  const server = createOnePortServer(handler, (req, socket, head) => {
    const path = requestUrl(req.url)?.pathname;
    const origin = checkOrigin(req.headers, config.allowOrigins);
    if (origin.kind === "refused") {
      // Before the handshake: browsers report a failed connection (close 1006), other clients see the 403.
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n\r\n${refusalText(origin.origin)}`);
    } else if (path === "/ws") {
      ws.handleUpgrade(req, socket, head);
    } else {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
    }
  }, config.tls, config.http2KeepaliveSeconds * 1000);
  const port = await server.listen(config.port, config.host);
  const scheme = config.tls ? "https" : "http";
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  logger.info({ port, tls: Boolean(config.tls), avatars: app.registry.loadedAvatars().map((a) => a.name), device: config.device, memory: config.memory }, "server listening");

  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    port,
    url: `${scheme}://${host}:${port}`,
    close() {
      closing ??= (async () => {
        logger.info({}, "server shutting down");
        app.closeAllSessions(new LipSyncError("unavailable", "server is shutting down"));
        ws.close();
        await server.close(config.shutdownGraceSeconds * 1000);
        await app.close();
      })();
      return closing;
    },
  };
}
