/**
 * What an RPC handler needs to know about the HTTP exchange under it, beyond what connect-node
 * tells it: when the client is gone, and who the client is (its address, for per-client limits).
 *
 * connect-node aborts a call's signal when the request's "close" event fires, but Node emits that
 * only once the request body has been read to the end. A client that stops reading, fills the
 * response window and then resets its stream with RST_STREAM(NO_ERROR) leaves a handler that
 * stopped reading its input (a failed Speak) parked forever: no "close", and connect-node's write
 * waits for a "drain" that a destroyed response never emits. So we watch the response instead,
 * which closes however the exchange ends (any reset code, a dropped connection), and release the
 * parked write.
 */
import { setMaxListeners } from "node:events";
import http2 from "node:http2";
import { createContextKey, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { LipSyncError } from "../errors.js";

type Handler = ReturnType<typeof connectNodeAdapter>;
type Req = Parameters<Handler>[0];

export interface RequestContext {
  /** Aborts when the exchange ends before the response was complete (the client went away). */
  gone: AbortSignal;
  /** The peer's IP address ("" when unknown). */
  remoteAddress: string;
}

const contexts = new WeakMap<Req, RequestContext>();

const REQUEST_CONTEXT = createContextKey<RequestContext | undefined>(undefined, { description: "lipsync request context" });

/** Wraps the RPC handler: tracks each exchange's end, and ends HTTP/2 uploads nobody reads. */
export function withRequestContext(handler: Handler): Handler {
  return (req, res) => {
    const gone = new AbortController();
    contexts.set(req, { gone: gone.signal, remoteAddress: req.socket?.remoteAddress ?? "" });
    const onGone = () => {
      if (res.writableFinished || gone.signal.aborted) return;
      gone.abort(new LipSyncError("cancelled", "the client went away"));
      // Releases connect-node's write parked on a full buffer; the next write fails and the
      // call unwinds (its generator's finally blocks run).
      if (res.listenerCount("drain") > 0) res.emit("drain");
    };
    res.once("close", onGone);
    if ("stream" in req) {
      // After RST_STREAM(NO_ERROR) Node destroys the stream only once its unread request body
      // has been consumed, which a handler that stopped reading never does: "aborted" is the
      // one event that comes, so end the stream here (the reset already closed it on the wire).
      req.stream.once("aborted", () => {
        onGone();
        req.stream.destroy();
      });
      // An answer sent before the whole request arrived (an oversized message refused, a bad
      // first message): tell the client to stop sending, without error (RFC 9113, 8.1). Else it
      // may upload the rest of a 100 MB body before it reads the status.
      const stopUpload = () => setImmediate(() => {
        if (!req.readableEnded && !req.stream.closed) req.stream.close(http2.constants.NGHTTP2_NO_ERROR);
      });
      // With trailers (gRPC) the response is complete once they are sent, in the "wantTrailers"
      // listener that Node's compat layer added before this one; "finish" would wait for the
      // request side too.
      req.stream.once("wantTrailers", stopUpload);
      res.once("finish", stopUpload);
    }
    handler(req, res);
  };
}

/** connect-node's `contextValues` option: hands the request context to handlers and interceptors. */
export function requestContextValues(req: Req): ContextValues {
  return createContextValues().set(REQUEST_CONTEXT, contexts.get(req));
}

export function requestContext(ctx: Pick<HandlerContext, "values">): RequestContext | undefined {
  return ctx.values.get(REQUEST_CONTEXT);
}

/**
 * A signal that aborts when the call ends for any reason: connect's own (deadline, cancel, a
 * completed call) or the client going away. For one call: it leaves a listener on each source
 * until that aborts or is collected.
 */
export function callSignal(ctx: HandlerContext): AbortSignal {
  const gone = requestContext(ctx)?.gone;
  if (!gone) return ctx.signal;
  const c = new AbortController();
  // Every frame of a call in the engine listens on it (engine/batcher.ts): hundreds at once.
  setMaxListeners(0, c.signal);
  const abort = () => c.abort();
  if (ctx.signal.aborted || gone.aborted) c.abort();
  else {
    ctx.signal.addEventListener("abort", abort, { once: true });
    gone.addEventListener("abort", abort, { once: true });
  }
  return c.signal;
}
