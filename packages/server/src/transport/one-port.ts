/**
 * One TCP port for everything. With TLS, ALPN picks HTTP/2 or HTTP/1.1 (allowHTTP1). In
 * cleartext there is no ALPN: we read the first bytes of each connection and hand the socket to
 * the HTTP/2 server if they are the HTTP/2 connection preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
 * sent by gRPC clients with prior knowledge), else to the HTTP/1.1 server (browsers, curl,
 * gRPC-Web, Connect, WebSocket upgrades).
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { TlsConfig } from "../config.js";
import { guardSession, type ResetBudget } from "./h2-guard.js";
import { keepAlive } from "./h2-keepalive.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

type Handler = ReturnType<typeof connectNodeAdapter>;
type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface OnePortServer {
  listen(port: number, host: string): Promise<number>;
  /**
   * The start of a graceful shutdown: no new connections, GOAWAY to every HTTP/2 peer (their
   * open streams go on, new ones go elsewhere). HTTP/1.1 connections stay until close(), so a
   * kept-alive health checker sees readiness change.
   */
  stopAccepting(): void;
  /** Stops accepting, waits for connections to end, and cuts the rest after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/** Routes a fresh cleartext connection by its first bytes. */
export function sniff(socket: net.Socket, onHttp2: (s: net.Socket) => void, onHttp1: (s: net.Socket) => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isPrefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isPrefix && seen.length < PREFACE.length) return; // wait for more bytes
    socket.off("data", onData);
    socket.pause();
    socket.unshift(seen);
    // Node's HTTP/2 session reads bytes a socket already buffered (readableLength) before it
    // takes over the handle; the HTTP/1.1 parser reads them when the stream resumes.
    if (isPrefix) {
      onHttp2(socket);
    } else {
      onHttp1(socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.once("error", () => socket.destroy());
}

export interface Http2Limits {
  /** Streams a peer may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Buffered bytes a connection may hold (Node's maxSessionMemory), MB. */
  maxSessionMemoryMb: number;
  /** Streams a peer may abandon (reset) before it is sent away (h2-guard.ts). */
  resets: ResetBudget;
  /** Pings every connection this often and closes one that does not answer (h2-keepalive.ts); 0: never, ms. */
  keepaliveMs?: number;
  /** How long a connection closing gracefully may take before keepalive closes it, ms. */
  closingGraceMs?: number;
}

export function createOnePortServer(handler: Handler, onUpgrade: UpgradeHandler, tls: TlsConfig | undefined, limits: Http2Limits): OnePortServer {
  const sockets = new Set<Duplex>();
  const h2sessions = new Set<http2.Http2Session>();
  const watch = (s: http2.ServerHttp2Session) => {
    guardSession(s, limits.resets);
    h2sessions.add(s);
    s.once("close", () => h2sessions.delete(s));
    if (limits.keepaliveMs) keepAlive(s, limits.keepaliveMs, limits.closingGraceMs);
  };
  const track = (s: Duplex) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  let listener: net.Server;
  let closed: Promise<void> | undefined;
  const h2Options = { maxSessionMemory: limits.maxSessionMemoryMb, settings: { maxConcurrentStreams: limits.maxConcurrentStreams } };
  const closers: (() => void)[] = [];

  if (tls) {
    const secure = http2.createSecureServer({ ...h2Options, cert: tls.cert, key: tls.key, allowHTTP1: true }, handler);
    secure.on("upgrade", onUpgrade);
    secure.on("secureConnection", track);
    secure.on("session", watch);
    listener = secure;
  } else {
    const h1 = http.createServer(handler);
    h1.on("upgrade", onUpgrade);
    const h2 = http2.createServer(h2Options, handler);
    h2.on("session", watch);
    listener = net.createServer((socket) => {
      track(socket);
      sniff(socket, (s) => h2.emit("connection", s), (s) => h1.emit("connection", s));
    });
    closers.push(() => h1.closeIdleConnections());
  }

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        listener.once("error", reject);
        listener.listen(port, host, () => {
          listener.off("error", reject);
          resolve((listener.address() as net.AddressInfo).port);
        });
      });
    },
    stopAccepting() {
      if (!closed) closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const s of h2sessions) s.close();
    },
    async close(graceMs) {
      // Stop accepting, ask HTTP/2 peers to go away, give streams `graceMs`, then force.
      this.stopAccepting();
      for (const c of closers) c();
      const timer = setTimeout(() => {
        for (const s of h2sessions) s.destroy();
        for (const s of sockets) s.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
