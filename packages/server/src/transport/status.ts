/**
 * The only place errors become wire statuses. Internal errors are logged with their cause and
 * sent as a bare "internal error": no stack, no path ever reaches a client.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { asLipSyncError, type ErrorCode } from "../errors.js";
import type { Logger } from "../logger.js";

const CONNECT_CODES: Record<ErrorCode, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  cancelled: Code.Canceled,
  internal: Code.Internal,
};

/** WebSocket close codes: 1008/1009/1011 where the RFC has one, 4000 + HTTP-like status else. */
export const WS_CLOSE: Record<ErrorCode, number> = {
  invalid_argument: 4400,
  not_found: 4404,
  already_exists: 4409,
  failed_precondition: 4412,
  resource_exhausted: 4429,
  unavailable: 4503,
  deadline_exceeded: 4504,
  cancelled: 4499,
  internal: 1011,
};

export function toConnectError(err: unknown, logger: Logger): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = asLipSyncError(err);
  if (e.code === "internal") logger.error({ err: e.cause ?? e }, "internal error");
  // retry-after (seconds, as HTTP has it) tells a client or load balancer when to come back.
  const metadata = e.retryAfterMs === undefined ? undefined : new Headers({ "retry-after": String(Math.ceil(e.retryAfterMs / 1000)) });
  return new ConnectError(e.message, CONNECT_CODES[e.code], metadata);
}

/** A close reason fits in a control frame: at most 123 bytes of UTF-8. */
export function closeReason(message: string): string {
  const bytes = Buffer.from(message, "utf8");
  return bytes.length <= 123 ? message : bytes.subarray(0, 120).toString("utf8").replace(/\uFFFD$/, "") + "...";
}
