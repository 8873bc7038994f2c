/**
 * The only place errors become wire statuses, and the one rule for what of an error a peer may
 * read, on every transport: a LipSyncError's message is written for clients (it names fields and
 * limits) and passes; an internal error reaches the peer as "internal error (ref R)" and nothing
 * else, while the server's log line carries R with the cause. No stack, path or engine message
 * ever crosses.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { asLipSyncError, LipSyncError, type ErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";

const CONNECT_CODES: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  cancelled: Code.Canceled,
  internal: Code.Internal,
};

/** WebSocket close codes: 1011 (RFC 6455) for internal errors, 4000 + the HTTP status else. */
export const WS_CLOSE: Record<ErrorCode, number> = {
  invalid_argument: 4400,
  unauthenticated: 4401,
  permission_denied: 4403,
  not_found: 4404,
  already_exists: 4409,
  failed_precondition: 4412,
  resource_exhausted: 4429,
  unavailable: 4503,
  deadline_exceeded: 4504,
  cancelled: 4499,
  internal: 1011,
};

/** HTTP statuses: plain routes, and the status field of binary WebSocket ERROR messages. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 412,
  resource_exhausted: 429,
  cancelled: 499,
  internal: 500,
  unavailable: 503,
  deadline_exceeded: 504,
};

/** What of `err` a peer may see (see the file comment); an internal error is logged here, once. */
export function forPeer(err: unknown, logger: Logger): LipSyncError {
  const e = asLipSyncError(err);
  if (e.code !== "internal") return e;
  const ref = randomBytes(4).toString("hex");
  logger.error({ err: e.cause ?? e, ref }, "internal error");
  return new LipSyncError("internal", `internal error (ref ${ref})`);
}

/**
 * An error reading a request stream (connect's own: a message that is not protobuf, a truncated
 * envelope, a compressed flag nobody negotiated) is the peer's bad input, whatever code connect
 * gave it: INVALID_ARGUMENT, but for a message too large, a cancelled call or a deadline.
 */
export function requestError(err: unknown): unknown {
  if (!(err instanceof ConnectError)) return err;
  if (err.code === Code.ResourceExhausted) return new LipSyncError("resource_exhausted", err.rawMessage);
  if (err.code === Code.Canceled) return new LipSyncError("cancelled", err.rawMessage);
  if (err.code === Code.DeadlineExceeded) return new LipSyncError("deadline_exceeded", err.rawMessage);
  return new LipSyncError("invalid_argument", `malformed request message: ${err.rawMessage}`);
}

export function toConnectError(err: unknown, logger: Logger): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = forPeer(err, logger);
  // retry-after (seconds, as HTTP has it) tells a client or load balancer when to come back.
  const metadata = e.retryAfterMs === undefined ? undefined : new Headers({ "retry-after": String(Math.ceil(e.retryAfterMs / 1000)) });
  return new ConnectError(e.message, CONNECT_CODES[e.code], metadata);
}

/** A close reason fits in a control frame: at most 123 bytes of UTF-8. */
export function closeReason(message: string): string {
  const bytes = Buffer.from(message, "utf8");
  return bytes.length <= 123 ? message : bytes.subarray(0, 120).toString("utf8").replace(/\uFFFD$/, "") + "...";
}
