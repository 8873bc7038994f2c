/**
 * The WebSocket endpoint /ws over the `ws` package: a thin adapter that hands each socket's
 * messages to the protocol core (ws-core.ts), sends what it answers, pings idle sockets and
 * pushes subscribed stats.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { LipSyncApp } from "../app.js";
import type { Principal } from "../auth.js";
import { LipSyncError } from "../errors.js";
import { selectSubprotocol, type Access } from "./access.js";
import type { AccessLog } from "./access-log.js";
import { closeReason, WS_CLOSE } from "./status.js";
import { WsConnection, type WsPeer } from "./ws-core.js";

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data as ArrayBuffer);
}

function sizeOf(data: string | Uint8Array): number {
  return typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
}

/** `highWater`: unsent bytes past which the socket counts as a slow consumer; `sent`: told each message's size. */
function peerOf(ws: WebSocket, highWater: number, sent: (bytes: number) => void): WsPeer {
  return {
    get open() {
      return ws.readyState === ws.OPEN;
    },
    send: (data) => {
      sent(sizeOf(data));
      ws.send(data);
    },
    sendAsync: (data) => new Promise((resolve, reject) => {
      sent(sizeOf(data));
      ws.send(data, (err) => (err ? reject(new LipSyncError("unavailable", "socket closed")) : resolve()));
      // A buffer past the high-water mark means the reader is slow: wait for the write to finish
      // (the callback above) before pulling more, so the session's bounded queue applies.
      if (ws.bufferedAmount < highWater) resolve();
    }),
    close: (code, reason) => ws.close(code, reason),
  };
}

interface Socket {
  ws: WebSocket;
  core: WsConnection;
  alive: boolean;
}

export class WebSocketEndpoint {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly timers: NodeJS.Timeout[];

  /** `accessLog`: when given, one line per connection (access-log.ts). */
  constructor(private readonly app: LipSyncApp, private readonly access: Access, private readonly accessLog?: AccessLog) {
    this.wss = new WebSocketServer({
      noServer: true, maxPayload: app.config.maxMessageBytes, perMessageDeflate: false, handleProtocols: (offered) => selectSubprotocol(offered),
    });
    this.timers = [
      setInterval(() => {
        for (const { core } of this.sockets) if (core.statsSubscribed) core.sendStats();
      }, app.config.wsStatsIntervalMs),
      setInterval(() => {
        for (const c of this.sockets) {
          if (!c.alive) c.ws.terminate();
          c.alive = false;
          c.ws.ping();
        }
      }, app.config.wsHeartbeatMs),
    ];
    for (const t of this.timers) t.unref();
  }

  /**
   * Completes the handshake; `caller` is the authenticated principal, or the refusal, sent as a
   * close code after the handshake (4401, 4403) since browsers see nothing of a refused upgrade.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, caller: Principal | LipSyncError): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const logged = this.accessLog?.websocket(caller instanceof LipSyncError ? undefined : caller, req.socket.remoteAddress);
      if (logged) ws.once("close", (code) => logged.end(code));
      if (caller instanceof LipSyncError) {
        ws.close(WS_CLOSE[caller.code], closeReason(caller.message));
        return;
      }
      const sent = logged ? logged.sent : () => undefined;
      const c: Socket = { ws, core: new WsConnection(this.app, peerOf(ws, this.app.config.wsSendHighWaterBytes, sent), caller, this.access), alive: true };
      this.sockets.add(c);
      this.app.stats.wsOpened();
      ws.on("message", (data, isBinary) => {
        const bytes = toBytes(data);
        logged?.received(bytes.length);
        c.core.onMessage(bytes, isBinary);
      });
      ws.on("pong", () => (c.alive = true));
      // The ws library has already sent the close frame (1009, 1007, 1002) on a protocol error
      // and ends the socket after the closing handshake or its own timeout; terminating here
      // raced that frame and clients saw 1006. Socket errors it destroys itself.
      ws.on("error", () => undefined);
      ws.on("close", () => {
        c.core.onClose();
        this.sockets.delete(c);
        this.app.stats.wsClosed();
      });
    });
  }

  /** Closes every socket with 1001 (going away). */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const { ws } of this.sockets) ws.close(1001, "server shutting down");
    this.wss.close();
  }
}
