/**
 * Liveness of HTTP/2 connections. A connection can outlive its peer without the server
 * noticing: Node 20's HTTP/2 server answers a malformed frame header (a length past the maximum
 * frame size) with GOAWAY, stops reading that connection and never destroys it, so it never
 * sees the peer close and the socket stays open for good (found by `pnpm fuzz`: 40 bytes leak
 * one socket). A peer that vanished without closing (a network partition) looks the same, and
 * holds its Speak sessions meanwhile.
 *
 * So every session is pinged every `intervalMs` (gRPC's keepalive, server side); a session whose
 * last ping is still unanswered when the next falls due is destroyed, which also ends the
 * streams still on it. A live peer answers pings in its HTTP/2 layer, idle or not.
 */
import type http2 from "node:http2";

export function keepAlive(session: http2.Http2Session, intervalMs: number): void {
  let waiting = false;
  const timer = setInterval(() => {
    if (session.destroyed) {
      clearInterval(timer);
      return;
    }
    if (waiting) {
      clearInterval(timer);
      session.destroy();
      return;
    }
    waiting = true;
    // The callback fires with the ACK, or with an error once the session is gone.
    const sent = session.ping((err) => {
      if (!err) waiting = false;
    });
    if (!sent) waiting = false; // too many pings outstanding: the next tick decides
  }, intervalMs);
  timer.unref();
  session.once("close", () => clearInterval(timer));
}
