"""The one place where failures become HTTP responses.

gRPC status -> HTTP status follows DESIGN.md; a few documented error codes
override it (an oversize upload is 413, an unreadable slide 422). Every error
body carries both documented shapes, so PyAMA clients (`success`, `error`,
`error_code`, `details`) and Slidekick clients (`detail`) read it unchanged.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common import errors
from common.rpc_errors import RpcFailure
from edge.fields import UNICODE_SURROGATE, unsendable

logger = logging.getLogger("micrographia.edge")

HTTP_STATUS_FOR_GRPC = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

HTTP_STATUS_FOR_CODE = {
    errors.PAYLOAD_TOO_LARGE: 413,
    errors.UNPROCESSABLE_SLIDE: 422,
    errors.PROCESSING_ERROR: 500,
}

# Slidekick's paths. Their request-validation failures are 400 INVALID_PARAMETERS
# like PyAMA's, and also carry FastAPI's `detail` list for clients that read it.
SLIDEKICK_PREFIXES = ("/api/slides", "/api/inference", "/api/roi", "/api/boxes")


class ApiError(Exception):
    """A failure found by the edge itself (bad query, auth, ...)."""

    def __init__(self, status_code: int, error_code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.message = message
        self.details = details


class BackendError(Exception):
    """A backend call failed; `service` names the backend."""

    def __init__(self, service: str, failure: RpcFailure, timeout_s: float | None = None) -> None:
        super().__init__(failure.message)
        self.service = service
        self.failure = failure
        self.timeout_s = timeout_s


def error_body(error_code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    return {
        "success": False,
        "error": message,
        "error_code": error_code,
        "details": details or {},
        "detail": message,
    }


def error_event(error_code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    """The `data` of an SSE `error` event: the error body, with the `type` and
    `message` that clients dispatching on `data.type` read (Slidekick's front end)."""
    return {"type": "error", "message": message, **error_body(error_code, message, details)}


def error_response(
    status_code: int, error_code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return JSONResponse(error_body(error_code, message, details), status_code, headers=headers)


def user_message(error: BackendError) -> tuple[str, dict[str, Any]]:
    """The message and details a user sees for a failed backend call (REST body,
    SSE error event and MCP tool error alike): what went wrong in their terms.
    `RpcFailure` already holds only public words (`common.public_text`); a
    backend that is down or silent is named here."""
    failure = error.failure
    details = dict(failure.details)
    if failure.grpc_code is grpc.StatusCode.UNAVAILABLE and failure.raw_status is None:
        # The backend itself is down (not a dependency it reported as down).
        logger.warning("the %s service is unavailable: %s", error.service, failure.internal_message)
        return f"The {error.service} service is unavailable", details | {"service": error.service}
    if failure.grpc_code is grpc.StatusCode.DEADLINE_EXCEEDED and failure.raw_status is None:
        message = f"The {error.service} service did not answer within {error.timeout_s:g}s"
        return message, details | {"service": error.service}
    return failure.message, details


def backend_error_response(error: BackendError) -> JSONResponse:
    failure = error.failure
    status = HTTP_STATUS_FOR_CODE.get(
        failure.error_code, HTTP_STATUS_FOR_GRPC.get(failure.grpc_code, 500)
    )
    message, details = user_message(error)
    return error_response(status, failure.error_code, message, details)


def unexpected_error(error: Exception, request: Request | None) -> tuple[str, str, dict[str, Any]]:
    """Error code, message and details of a crash: an id to find it in the log, no more."""
    error_id = uuid.uuid4().hex[:12]
    path = request.url.path if request is not None else "?"
    logger.error("unexpected error id=%s on %s", error_id, path, exc_info=error)
    return (
        errors.INTERNAL_ERROR,
        f"Unexpected server error (error id {error_id})",
        {"error_id": error_id},
    )


def _validation_response(request: Request, error: RequestValidationError) -> JSONResponse:
    items = error.errors()
    problems = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in items
    ]
    summary = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)
    message = f"Invalid request: {summary}"
    if all(unsendable(item) for item in items):
        # Values no proto can carry. In a path they name nothing that exists
        # (a tile column past any pyramid): 404, as any missing thing. Elsewhere
        # 400, as the service answers a value out of range, on either API.
        if all(p["loc"][:1] == ["path"] and p["type"] != UNICODE_SURROGATE for p in problems):
            names = ", ".join(str(p["loc"][-1]) for p in problems)
            missing = f"Not found: no {names} so large exists ({summary})"
            return error_response(404, errors.NOT_FOUND, missing, {"errors": problems})
        return error_response(400, errors.INVALID_PARAMETERS, message, {"errors": problems})
    if request.url.path.startswith(SLIDEKICK_PREFIXES):
        body = error_body(errors.INVALID_PARAMETERS, message, {"errors": problems})
        body["detail"] = problems  # FastAPI's validation shape, for clients that read it
        return JSONResponse(body, 400)
    return error_response(400, errors.INVALID_PARAMETERS, message, {"errors": problems})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status_code, error.error_code, error.message, error.details)

    @app.exception_handler(BackendError)
    async def _backend_error(request: Request, error: BackendError) -> JSONResponse:
        return backend_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return _validation_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {
            404: errors.NOT_FOUND,
            405: "METHOD_NOT_ALLOWED",
            413: errors.PAYLOAD_TOO_LARGE,  # edge/body_limit.py
        }.get(error.status_code, errors.INVALID_PARAMETERS)
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        return error_response(500, *unexpected_error(error, request))
