/**
 * HTTP/2 connection policy against abuse that costs the client nothing: the "rapid reset"
 * (CVE-2023-44487: HEADERS then RST_STREAM at once, thousands a second, so that the concurrency
 * limit never applies while the server starts work for each stream).
 *
 * nghttp2 (inside Node) already ends a connection past 1,000 resets in a burst, with
 * GOAWAY(INTERNAL_ERROR); Node 20 cannot tune that (the `streamResetBurst` option came later).
 * We keep a tighter budget per connection, in the server's terms: a stream the peer abandons
 * before its answer is complete costs one token; tokens refill at `rate` a second up to `burst`.
 * Past it the connection gets GOAWAY(ENHANCE_YOUR_CALM) and is closed: its open streams are
 * cancelled (their work with them, through the calls' signals), others' are untouched.
 */
import http2 from "node:http2";

export interface ResetBudget {
  /** Abandoned streams a connection may have in a burst. */
  burst: number;
  /** Abandoned streams a second a connection may keep up, on average. */
  rate: number;
}

/** How long a connection told to go away has to finish before it is cut, ms. */
const GOAWAY_GRACE_MS = 1000;

/** A token bucket: `take()` is false once the budget is spent. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(private readonly burst: number, private readonly rate: number, private readonly now: () => number = () => performance.now()) {
    this.tokens = burst;
    this.at = now();
  }

  take(n = 1): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.rate);
    this.at = t;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are there again. */
  waitMs(n = 1): number {
    return this.tokens >= n ? 0 : Math.ceil(((n - this.tokens) / this.rate) * 1000);
  }
}

/** Watches one server session's streams and sends it away when it abandons too many. */
export function guardSession(session: http2.ServerHttp2Session, budget: ResetBudget, onAbuse: () => void = () => undefined): void {
  const bucket = new TokenBucket(budget.burst, budget.rate);
  let refused = false;
  session.on("stream", (stream) => {
    stream.once("close", () => {
      // "aborted": the stream closed before our answer was complete (a reset of any code, or
      // the connection going); a non-zero code alone: a reset after it.
      if (refused || !(stream.aborted || (stream.rstCode ?? 0) !== http2.constants.NGHTTP2_NO_ERROR)) return;
      if (bucket.take()) return;
      refused = true;
      onAbuse();
      if (session.destroyed) return;
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from("too many streams reset"));
      session.close();
      setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
    });
  });
}
