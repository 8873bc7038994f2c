/**
 * One TCP port for everything. With TLS, ALPN picks HTTP/2 or HTTP/1.1 (allowHTTP1). In
 * cleartext there is no ALPN: we read the first bytes of each connection and hand the socket to
 * the HTTP/2 server if they are the HTTP/2 connection preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
 * sent by gRPC clients with prior knowledge), else to the HTTP/1.1 server (browsers, curl,
 * gRPC-Web, Connect, WebSocket upgrades).
 *
 * Every stage of a connection has a bound (conn-limits.ts): connections per client address; the
 * first bytes (cleartext) or the TLS handshake within `handshakeTimeoutMs`; an HTTP/2 peer's
 * SETTINGS within the same; an HTTP/1.1 request's headers within `headersTimeoutMs`; after
 * that, HTTP/2 keepalive (h2-keepalive.ts) and Node's keep-alive timeout for HTTP/1.1.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { TlsConfig } from "../config.js";
import { ConnectionGate, deadline } from "./conn-limits.js";
import { guardSession, type ResetBudget } from "./h2-guard.js";
import { keepAlive } from "./h2-keepalive.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

type Handler = ReturnType<typeof connectNodeAdapter>;
type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface OnePortServer {
  listen(port: number, host: string): Promise<number>;
  /**
   * The start of a graceful shutdown: no new connections, GOAWAY to every HTTP/2 peer (their
   * open streams go on, new ones go elsewhere), and to every connection accepted before but
   * still in its handshake as soon as it becomes an HTTP/2 session. HTTP/1.1 connections stay
   * until close(), so a kept-alive health checker sees readiness change.
   */
  stopAccepting(): void;
  /** Stops accepting, waits for connections to end, and cuts the rest after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

/**
 * Routes a fresh cleartext connection by its first bytes; destroys it when they have not
 * decided within `timeoutMs` (nothing sent, or a prefix of the preface and then silence).
 */
export function sniff(socket: net.Socket, onHttp2: (s: net.Socket) => void, onHttp1: (s: net.Socket) => void, timeoutMs = 0): void {
  let seen = Buffer.alloc(0);
  const decided = deadline(socket, timeoutMs);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const isPrefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (isPrefix && seen.length < PREFACE.length) return; // wait for more bytes
    decided();
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

/** Bounds on connections before and around the protocols (config.ts has the defaults). */
export interface ConnectionLimits {
  /** Connections one client address (an IPv6 /64) may hold at once; 0: no limit. */
  maxPerAddress: number;
  /** First bytes (cleartext), TLS handshake, HTTP/2 SETTINGS: each within this long, ms; 0: no bound. */
  handshakeTimeoutMs: number;
  /** An HTTP/1.1 request's headers within this long of its first byte, ms (Node's headersTimeout). */
  headersTimeoutMs: number;
  /** An idle HTTP/1.1 connection closes after this long, ms (Node's keepAliveTimeout; default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Told when an address reaches its limit (`key`: the address or /64), at most once a minute per address. */
  onRefused?: (key: string) => void;
}

/** How often Node checks HTTP/1.1 requests against headersTimeout and requestTimeout, ms. */
function checkingInterval(headersTimeoutMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(headersTimeoutMs / 4)));
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

export function createOnePortServer(handler: Handler, onUpgrade: UpgradeHandler, tls: TlsConfig | undefined, limits: Http2Limits, conn: ConnectionLimits): OnePortServer {
  const sockets = new Set<Duplex>();
  const h2sessions = new Set<http2.Http2Session>();
  const gate = new ConnectionGate(conn.maxPerAddress, conn.onRefused);
  let draining = false;
  const watch = (s: http2.ServerHttp2Session) => {
    guardSession(s, limits.resets);
    h2sessions.add(s);
    s.once("close", () => h2sessions.delete(s));
    if (limits.keepaliveMs) keepAlive(s, limits.keepaliveMs, limits.closingGraceMs);
    // The client's SETTINGS are the rest of its preface (RFC 9113, 3.4).
    s.once("remoteSettings", deadline(s, conn.handshakeTimeoutMs));
    // Accepted before the drain began, but only now an HTTP/2 session: it is told at once.
    if (draining) s.close();
  };
  const track = (s: Duplex) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  let listener: net.Server;
  let closed: Promise<void> | undefined;
  const h2Options = { maxSessionMemory: limits.maxSessionMemoryMb, settings: { maxConcurrentStreams: limits.maxConcurrentStreams } };
  // Node checks headersTimeout (and requestTimeout, its default of 5 minutes for a whole request
  // body) every connectionsCheckingInterval.
  const h1Options = {
    headersTimeout: conn.headersTimeoutMs,
    connectionsCheckingInterval: checkingInterval(conn.headersTimeoutMs),
    ...(conn.keepAliveTimeoutMs ? { keepAliveTimeout: conn.keepAliveTimeoutMs } : {}),
  };
  const closers: (() => void)[] = [];

  if (tls) {
    const secure = http2.createSecureServer({ ...h2Options, cert: tls.cert, key: tls.key, allowHTTP1: true, handshakeTimeout: conn.handshakeTimeoutMs || 120_000 }, handler);
    // Its HTTP/1.1 side takes no http options: set them before it listens (which starts Node's checks).
    Object.assign(secure, h1Options);
    secure.on("upgrade", onUpgrade);
    // Before TLS's own listener: a connection past its address's limit never starts a handshake.
    secure.prependListener("connection", (socket: net.Socket) => {
      if (!gate.admit(socket)) socket.destroy();
    });
    secure.on("secureConnection", track);
    secure.on("session", watch);
    listener = secure;
  } else {
    const h1 = http.createServer(h1Options, handler);
    // Node starts tracking an HTTP/1.1 server's connections (what enforces headersTimeout and
    // requestTimeout, and what closeIdleConnections() walks) in a "listening" handler. This
    // server never listens (the sniffer hands it its sockets with emit("connection")), so
    // without this no request ever timed out: 200 connections that sent half a request head
    // were all still open 150 s later. It must run before the first connection arrives.
    h1.emit("listening");
    h1.on("upgrade", onUpgrade);
    const h2 = http2.createServer(h2Options, handler);
    h2.on("session", watch);
    listener = net.createServer((socket) => {
      if (!gate.admit(socket)) {
        socket.destroy();
        return;
      }
      track(socket);
      sniff(socket, (s) => h2.emit("connection", s), (s) => h1.emit("connection", s), conn.handshakeTimeoutMs);
    });
    closers.push(() => h1.closeIdleConnections());
    closers.push(() => h1.close());
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
      draining = true;
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
