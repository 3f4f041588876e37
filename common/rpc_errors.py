"""ServiceError <-> gRPC status with rich details (google.rpc.Status + ErrorInfo).

Server side: `status_for(error)` gives the grpc.Status to abort with.
Client side: `RpcFailure.from_error(e)` reads a failed call back into the
documented error code, message and details, whichever service sent it, in
words a user may read (`common.public_text`: no address, RPC path or exception
representation; gRPC's own words for a call that reached no service become a
sentence). The original text is kept in `internal_message`, for logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from common import errors
from common.public_text import public_text, transport_failure

# The code a client shows when a status arrives without an ErrorInfo (a peer
# that is down, a deadline, an unimplemented RPC).
_DEFAULT_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.INVALID_PARAMETERS,
    grpc.StatusCode.OUT_OF_RANGE: errors.INVALID_PARAMETERS,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FAILED_PRECONDITION,
    grpc.StatusCode.NOT_FOUND: errors.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: errors.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED: errors.FORBIDDEN,
    grpc.StatusCode.UNAUTHENTICATED: errors.UNAUTHORIZED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.RATE_LIMITED,
    grpc.StatusCode.UNAVAILABLE: errors.SERVICE_UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED: errors.NOT_IMPLEMENTED,
    grpc.StatusCode.CANCELLED: "CANCELLED",
}


# A status travels in the trailers (the message percent-encoded, the details
# base64), which gRPC caps at 8 KiB in all: past that the caller sees
# RESOURCE_EXHAUSTED instead of the real error. Messages and details that repeat
# what the caller sent (a 4,000-character path) are shortened to fit.
MAX_MESSAGE_BYTES = 512
MAX_DETAIL_BYTES = 200
MAX_DETAILS = 8
ELLIPSIS = "…"


def shortened(text: str, max_bytes: int) -> str:
    """`text` if its UTF-8 fits in `max_bytes`, else its start and end around an
    ellipsis (a path keeps its root and its file name)."""
    if len(text.encode()) <= max_bytes:
        return text
    keep = max(1, (max_bytes - len(ELLIPSIS.encode())) // 8)  # 4 bytes a character at most
    while len((text[:keep] + ELLIPSIS + text[-keep:]).encode()) <= max_bytes:
        keep += 1
    keep -= 1
    return text[:keep] + ELLIPSIS + text[-keep:] if keep > 0 else ELLIPSIS


def _bounded_details(details: dict[str, str]) -> dict[str, str]:
    items = list(details.items())[:MAX_DETAILS]
    return {shortened(key, 64): shortened(value, MAX_DETAIL_BYTES) for key, value in items}


def status_for(
    code: grpc.StatusCode, message: str, reason: str, details: dict[str, str]
) -> grpc.Status:
    """A grpc.Status carrying an ErrorInfo(reason, metadata) detail; message and
    details are bounded in size (see MAX_MESSAGE_BYTES)."""
    message = shortened(message, MAX_MESSAGE_BYTES)
    details = _bounded_details(details)
    info = error_details_pb2.ErrorInfo(reason=reason, domain=errors.ERROR_DOMAIN, metadata=details)
    packed = any_pb2.Any()
    packed.Pack(info)
    status = status_pb2.Status(code=code.value[0], message=message, details=[packed])
    return rpc_status.to_status(status)


def status_for_error(error: errors.ServiceError) -> grpc.Status:
    """The gRPC status a ServiceError becomes."""
    return status_for(grpc.StatusCode[error.grpc_status], error.message, error.code, error.details)


def _rich_status(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status a peer sent with its failure, if any (a status
    whose code or message disagrees with the call's is not trusted)."""
    if not callable(getattr(error, "trailing_metadata", None)):
        return None
    try:
        return rpc_status.from_call(error)
    except ValueError:
        return None


@dataclass(frozen=True)
class RpcFailure:
    """A failed call, read back: gRPC code, documented error code, message, details."""

    grpc_code: grpc.StatusCode
    error_code: str
    message: str
    details: dict[str, str] = field(default_factory=dict)
    # The serialized google.rpc.Status, to pass a peer's failure through unchanged.
    raw_status: bytes | None = None
    # What the call said before `public_text`: for logs only, never for users.
    internal_message: str = ""

    @classmethod
    def from_error(cls, error: grpc.RpcError) -> RpcFailure:
        code = error.code() if callable(getattr(error, "code", None)) else grpc.StatusCode.UNKNOWN
        message = error.details() if callable(getattr(error, "details", None)) else str(error)
        message = message or ""
        status = _rich_status(error)
        for detail in status.details if status is not None else ():
            info = error_details_pb2.ErrorInfo()
            if detail.Is(info.DESCRIPTOR) and detail.Unpack(info):
                raw = status.SerializeToString()
                details = {key: public_text(value) for key, value in info.metadata.items()}
                public = public_text(status.message)
                return cls(code, info.reason, public, details, raw, status.message)
        return cls(
            code,
            _DEFAULT_CODES.get(code, errors.INTERNAL_ERROR),
            transport_failure(code, message),
            internal_message=message,
        )

    def to_status(self) -> grpc.Status:
        """The same failure, to answer our own caller with."""
        if self.raw_status is not None:
            return rpc_status.to_status(status_pb2.Status.FromString(self.raw_status))
        return status_for(self.grpc_code, self.message, self.error_code, self.details)


def named_peer_failure(error: grpc.RpcError, service: str) -> Exception:
    """What to raise for a failed call to the peer `service`: its own failure when it
    answered with a status of ours (passed through as it is); else gRPC's failure
    of the call, worded with the peer's name ("the inference service could not be
    reached"), so the user learns which service, and nothing internal."""
    failure = RpcFailure.from_error(error)
    if failure.raw_status is not None:
        return error
    message = transport_failure(
        failure.grpc_code, failure.internal_message, f"the {service} service"
    )
    named = errors.ServiceError(message, code=failure.error_code, service=service)
    named.grpc_status = failure.grpc_code.name  # type: ignore[misc]
    return named
