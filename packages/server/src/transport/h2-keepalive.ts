/**
 * Liveness of HTTP/2 connections. A connection can outlive its peer without the server
 * noticing: Node 20's HTTP/2 server answers a malformed frame header (a length past the maximum
 * frame size) with GOAWAY, stops reading that connection and never destroys it, so it never
 * sees the peer close and the socket stays open for good (found by `pnpm fuzz`: 40 bytes leak
 * one socket); a connection closing gracefully with a stream still open was seen stuck the same
 * way (its socket in CLOSE_WAIT). A peer that vanished without closing (a network partition)
 * looks alike, and holds its Speak sessions meanwhile.
 *
 * So every session is pinged every `intervalMs` (gRPC's keepalive, server side); a session whose
 * last ping is still unanswered when the next falls due, or whose ping could not be sent, is
 * destroyed, which also ends the streams still on it. A live peer answers pings in its HTTP/2
 * layer, idle or not. Node sends no ping on a session closing gracefully, so such a session
 * gets `closingGraceMs` to finish (a drain's streams end well within it) and is then destroyed.
 */
import type http2 from "node:http2";

/** The part of an Http2Session that keepalive uses (a fake one in the unit test). */
export type PingableSession = Pick<http2.Http2Session, "ping" | "destroy" | "destroyed" | "closed" | "once">;

export function keepAlive(session: PingableSession, intervalMs: number, closingGraceMs = 2 * intervalMs, now: () => number = () => performance.now()): void {
  let waiting = false;
  let closingSince: number | undefined;
  const stop = () => clearInterval(timer);
  const timer = setInterval(() => {
    if (session.destroyed) {
      stop();
      return;
    }
    if (session.closed) {
      closingSince ??= now();
      if (now() - closingSince >= closingGraceMs) {
        stop();
        session.destroy();
      }
      return;
    }
    if (waiting) {
      stop();
      session.destroy();
      return;
    }
    waiting = true;
    try {
      // The callback fires with the ACK, or with an error once the ping is cancelled.
      session.ping((err) => {
        if (!err) waiting = false;
      });
    } catch {
      // A session Node no longer pings: the next tick destroys it.
    }
  }, intervalMs);
  timer.unref();
  session.once("close", stop);
}
