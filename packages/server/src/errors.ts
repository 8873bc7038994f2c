/**
 * The one error type of the server. Engine, avatar and session code throw it with a `code`;
 * only transport/ maps codes to gRPC/Connect statuses or WebSocket close codes. Messages are
 * written for clients: they name fields and limits, never file system paths or stack traces.
 */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "resource_exhausted"
  | "unavailable"
  | "deadline_exceeded"
  | "cancelled"
  | "internal";

export class LipSyncError extends Error {
  readonly code: ErrorCode;
  /** Whether the same request may succeed later (capacity, a reload) without changes. */
  readonly retryable: boolean;
  /** When retryable: how long to wait before retrying, ms (sent as retry-after). */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LipSyncError";
    this.code = code;
    this.retryable = options.retryable ?? (code === "unavailable" || code === "resource_exhausted");
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function invalidArgument(message: string): LipSyncError {
  return new LipSyncError("invalid_argument", message);
}

export function notFound(message: string): LipSyncError {
  return new LipSyncError("not_found", message);
}

/** Any thrown value as a LipSyncError; unknown errors become an opaque "internal error". */
export function asLipSyncError(err: unknown): LipSyncError {
  if (err instanceof LipSyncError) return err;
  return new LipSyncError("internal", "internal error", { cause: err });
}
