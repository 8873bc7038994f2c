"""One error type for every failure of the client, with a code and whether a retry may help."""
from __future__ import annotations

import grpc

# gRPC status -> the server's error codes (packages/server/src/errors.ts), snake_case.
_CODES = {
    grpc.StatusCode.CANCELLED: "cancelled",
    grpc.StatusCode.UNKNOWN: "unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "invalid_argument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "deadline_exceeded",
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.ALREADY_EXISTS: "already_exists",
    grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "resource_exhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "failed_precondition",
    grpc.StatusCode.ABORTED: "aborted",
    grpc.StatusCode.OUT_OF_RANGE: "out_of_range",
    grpc.StatusCode.UNIMPLEMENTED: "unimplemented",
    grpc.StatusCode.INTERNAL: "internal",
    grpc.StatusCode.UNAVAILABLE: "unavailable",
    grpc.StatusCode.DATA_LOSS: "data_loss",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
}
# A refused session (capacity), a server going away or not reachable yet: trying again later
# can succeed. Everything else fails the same way every time.
_RETRYABLE = {"resource_exhausted", "unavailable", "deadline_exceeded"}


def status_name(status: grpc.StatusCode) -> str:
    """The snake_case name of a gRPC status (``not_found``, ``resource_exhausted``, ...)."""
    return _CODES.get(status, "unknown")


class LipSyncError(Exception):
    """A failed call to a lipsync server.

    Attributes:
        code: the status as a snake_case name (``not_found``, ``resource_exhausted``,
            ``unavailable``, ``deadline_exceeded``, ...).
        message: the server's reason, or what the client saw (never a stack trace).
        retryable: True when the same call may succeed later (capacity, unreachable, timeout).
        retry_after: seconds the server asked the client to wait, when it said so.
    """

    def __init__(self, code: str, message: str, *, retryable: bool | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = code in _RETRYABLE if retryable is None else retryable
        self.retry_after = retry_after

    @classmethod
    def from_rpc(cls, err: grpc.RpcError, target: str = "") -> "LipSyncError":
        """Maps a grpcio error (an ``aio.AioRpcError`` or a sync ``RpcError``) to a LipSyncError."""
        status = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
        code = status_name(status)
        message = (err.details() if hasattr(err, "details") else None) or str(status)
        retry_after = None
        try:
            for key, value in (err.trailing_metadata() or ()):
                if key == "retry-after":
                    retry_after = float(value)
        except (AttributeError, TypeError, ValueError):
            pass
        if code == "unavailable" and target:
            message = f"lipsync server at {target} unavailable: {message}"
        return cls(code, message, retry_after=retry_after)
