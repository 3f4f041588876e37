"""The error model every service shares.

Domain code raises a `ServiceError` subclass; it never imports grpc. The server
interceptor turns it into a gRPC status with a `google.rpc.ErrorInfo` detail
(reason = the documented error code, metadata = details), and the edge turns
that back into the documented HTTP status and error body, in one place.
"""

from __future__ import annotations

from typing import ClassVar

# The documented error codes (pyama-api.md, "Error Codes"), plus the few the
# platform adds for conditions the documents do not name.
FILE_NOT_FOUND = "FILE_NOT_FOUND"
INVALID_PARAMETERS = "INVALID_PARAMETERS"
PROCESSING_ERROR = "PROCESSING_ERROR"
JOB_NOT_FOUND = "JOB_NOT_FOUND"
JOB_ALREADY_COMPLETED = "JOB_ALREADY_COMPLETED"
INTERNAL_ERROR = "INTERNAL_ERROR"
UNAUTHORIZED = "UNAUTHORIZED"
FORBIDDEN = "FORBIDDEN"
RATE_LIMITED = "RATE_LIMITED"
NOT_FOUND = "NOT_FOUND"
ALREADY_EXISTS = "ALREADY_EXISTS"
FAILED_PRECONDITION = "FAILED_PRECONDITION"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
# Slides: the upload is larger than allowed (413) or not a readable slide (422).
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNPROCESSABLE_SLIDE = "UNPROCESSABLE_SLIDE"

ERROR_DOMAIN = "micrographia"


class ServiceError(Exception):
    """A failure the caller can act on.

    `grpc_status` is the name of a `grpc.StatusCode`; `code` is the documented
    error code the edge shows; `details` are small string facts (a path, a limit).
    """

    grpc_status: ClassVar[str] = "INTERNAL"
    default_code: ClassVar[str] = INTERNAL_ERROR

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = {key: str(value) for key, value in details.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class InvalidArgument(ServiceError):
    """The request itself is wrong (bad value, unsupported or corrupt file)."""

    grpc_status = "INVALID_ARGUMENT"
    default_code = INVALID_PARAMETERS


class NotFound(ServiceError):
    """The named thing does not exist."""

    grpc_status = "NOT_FOUND"
    default_code = NOT_FOUND


class PermissionDenied(ServiceError):
    """The caller may not touch this (e.g. a path outside the data roots)."""

    grpc_status = "PERMISSION_DENIED"
    default_code = FORBIDDEN


class AlreadyExists(ServiceError):
    """The thing to create exists already."""

    grpc_status = "ALREADY_EXISTS"
    default_code = ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    """The system is not in a state that allows this (job finished, model not loaded)."""

    grpc_status = "FAILED_PRECONDITION"
    default_code = FAILED_PRECONDITION


class OutOfRange(ServiceError):
    """A coordinate or index lies outside what exists."""

    grpc_status = "OUT_OF_RANGE"
    default_code = INVALID_PARAMETERS


class ResourceExhausted(ServiceError):
    """A limit was exceeded (size, rate, capacity)."""

    grpc_status = "RESOURCE_EXHAUSTED"
    default_code = RATE_LIMITED


class Unavailable(ServiceError):
    """A dependency is down; retrying later may succeed."""

    grpc_status = "UNAVAILABLE"
    default_code = SERVICE_UNAVAILABLE


class Cancelled(ServiceError):
    """The work was cancelled."""

    grpc_status = "CANCELLED"
    default_code = "CANCELLED"


class ProcessingError(ServiceError):
    """The work itself failed (a reader, a model, an algorithm)."""

    grpc_status = "INTERNAL"
    default_code = PROCESSING_ERROR
