"""Server interceptors every service installs.

- `AccessLogInterceptor`: one log line per RPC with its status and duration.
- `ErrorInterceptor`: a `ServiceError` becomes its documented gRPC status; a
  failed call to a peer passes through with the peer's status; anything else
  becomes INTERNAL with an error id that is also in the log, so an operator can
  find the traceback from what the user saw.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from common import errors
from common.rpc_errors import RpcFailure, status_for, status_for_error

logger = logging.getLogger("micrographia.rpc")

# The standard health and reflection services are left alone: probes would
# drown the log, and their streaming handlers write through the context.
_PLATFORM_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

Behavior = Callable[..., Any]


def _wrap_handler(
    handler: grpc.RpcMethodHandler | None,
    wrap_unary: Callable[[Behavior], Behavior],
    wrap_stream: Callable[[Behavior], Behavior],
) -> grpc.RpcMethodHandler | None:
    """Rebuild `handler` with its behavior wrapped (unary or streaming response)."""
    if handler is None:
        return None
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(
            wrap_stream(handler.stream_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(
            wrap_unary(handler.stream_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(
            wrap_stream(handler.unary_stream),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return grpc.unary_unary_rpc_method_handler(
        wrap_unary(handler.unary_unary),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class _BehaviorInterceptor(aio.ServerInterceptor):
    """Wraps the behavior of every RPC of the services (health and reflection are
    left alone); subclasses say how, for unary and for streaming answers."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        method = details.method
        if method.startswith(_PLATFORM_PREFIXES):
            return handler
        return _wrap_handler(
            handler,
            lambda behavior: self.wrap_unary(method, behavior),
            lambda behavior: self.wrap_stream(method, behavior),
        )

    def wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        raise NotImplementedError

    def wrap_stream(self, method: str, behavior: Behavior) -> Behavior:
        raise NotImplementedError


class ErrorInterceptor(_BehaviorInterceptor):
    """Turns exceptions escaping a servicer into gRPC statuses."""

    def wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        async def unary(request: Any, context: aio.ServicerContext) -> Any:
            try:
                result = behavior(request, context)
                return await result if inspect.isawaitable(result) else result
            except Exception as error:
                await _abort_for(error, context, method)

        return unary

    def wrap_stream(self, method: str, behavior: Behavior) -> Behavior:
        async def stream(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                async for response in behavior(request, context):
                    yield response
            except Exception as error:
                await _abort_for(error, context, method)

        return stream


async def _abort_for(error: Exception, context: aio.ServicerContext, method: str) -> None:
    """Abort the RPC with the status `error` stands for (always raises)."""
    if isinstance(error, aio.AbortError | asyncio.CancelledError):
        raise error
    if isinstance(error, errors.ServiceError):
        status = status_for_error(error)
    elif isinstance(error, NotImplementedError):
        # The generated base servicer: this RPC's issue has not landed yet.
        # Named as users know it ("RenderFrame"), not by its RPC path.
        name = method.rsplit("/", 1)[-1]
        status = status_for(
            grpc.StatusCode.UNIMPLEMENTED,
            f"{name} is not implemented yet",
            errors.NOT_IMPLEMENTED,
            {"method": name},
        )
    elif isinstance(error, grpc.RpcError):
        # A peer failed: keep its status (a NOT_FOUND stays NOT_FOUND, a peer
        # that is down is UNAVAILABLE here too).
        failure = RpcFailure.from_error(error)
        logger.warning(
            "peer call failed in %s: %s %s", method, failure.grpc_code.name, failure.message
        )
        status = failure.to_status()
    else:
        error_id = uuid.uuid4().hex[:12]
        logger.error("unexpected error id=%s in %s", error_id, method, exc_info=error)
        status = status_for(
            grpc.StatusCode.INTERNAL,
            f"Unexpected server error (error id {error_id})",
            errors.INTERNAL_ERROR,
            {"error_id": error_id},
        )
    await context.abort(status.code, status.details, status.trailing_metadata)


class AccessLogInterceptor(_BehaviorInterceptor):
    """Logs method, status code and duration of every RPC."""

    def wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        async def unary(request: Any, context: aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                return await behavior(request, context)
            finally:
                _log_call(method, context, started)

        return unary

    def wrap_stream(self, method: str, behavior: Behavior) -> Behavior:
        async def stream(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            try:
                async for response in behavior(request, context):
                    yield response
            finally:
                _log_call(method, context, started)

        return stream


def _log_call(method: str, context: aio.ServicerContext, started: float) -> None:
    code = context.code() or grpc.StatusCode.OK
    if isinstance(code, int):  # some grpc versions report the numeric value
        code = next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
    elapsed_ms = (time.perf_counter() - started) * 1000
    level = (
        logging.WARNING
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
        else logging.INFO
    )
    logger.log(level, "rpc %s %s %.1fms peer=%s", method, code.name, elapsed_ms, context.peer())
