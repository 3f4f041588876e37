"""The server interceptor every service installs, and the layers it applies.

One `ServiceInterceptor` wraps the behavior of every RPC of the services
(health and reflection are left alone) in layers, outermost first:

- `TracingLayer`: a server span that continues the caller's trace.
- `AccessLogLayer`: one log line per RPC with its status and duration.
- `ErrorLayer`: a `ServiceError` becomes its documented gRPC status; a failed
  call to a peer passes through with the peer's status; anything else becomes
  INTERNAL with an error id that is also in the log, so an operator can find
  the traceback from what the user saw.

Server streams are driven here, not by grpc: the interceptor writes each answer
through the context and, however the call ends (a caller that goes away
mid-write included), closes the whole chain of generators inside the RPC's own
task, while the call still exists. Left to grpc, a cancelled stream's generators
were abandoned and finalized later by the garbage collector, in another task:
their `finally` blocks then read a call grpc had already freed (a segfault in
cygrpc) and detached tracing context from the wrong task.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import grpc
from grpc import aio
from grpc._cython.cygrpc import ExecuteBatchError  # what a write to a closed call raises
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider

from common import errors
from common.rpc_errors import RpcFailure, status_for, status_for_error

logger = logging.getLogger("micrographia.rpc")

# The standard health and reflection services are left alone: probes would
# drown the log, and their streaming handlers write through the context.
_PLATFORM_PREFIXES = ("/grpc.health.", "/grpc.reflection.")

Behavior = Callable[..., Any]
StreamBehavior = Callable[[Any, aio.ServicerContext], AsyncIterator[Any]]


class RpcLayer:
    """One concern wrapped around the behavior of every RPC.

    `wrap_unary` gets a coroutine function; `wrap_stream` gets an async generator
    function and returns one, which must close the generator it wraps however it
    ends (`contextlib.aclosing`), so closing the outermost closes them all.
    """

    def wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        raise NotImplementedError

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        raise NotImplementedError


class ServiceInterceptor(aio.ServerInterceptor):
    """Applies `layers` (outermost first) to every RPC of the services."""

    def __init__(self, layers: list[RpcLayer]) -> None:
        self._layers = layers

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None or details.method.startswith(_PLATFORM_PREFIXES):
            return handler
        return self._wrap(handler, details.method)

    def _wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        async def innermost(request: Any, context: aio.ServicerContext) -> Any:
            result = behavior(request, context)
            return await result if inspect.isawaitable(result) else result

        wrapped = innermost
        for layer in reversed(self._layers):
            wrapped = layer.wrap_unary(method, wrapped)
        return wrapped

    def _wrap_stream(self, method: str, behavior: Behavior) -> Behavior:
        wrapped: StreamBehavior = behavior
        for layer in reversed(self._layers):
            wrapped = layer.wrap_stream(method, wrapped)
        return _written(wrapped)

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        codecs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.request_streaming and handler.response_streaming:
            behavior = self._wrap_stream(method, handler.stream_stream)
            return grpc.stream_stream_rpc_method_handler(behavior, **codecs)
        if handler.request_streaming:
            behavior = self._wrap_unary(method, handler.stream_unary)
            return grpc.stream_unary_rpc_method_handler(behavior, **codecs)
        if handler.response_streaming:
            behavior = self._wrap_stream(method, handler.unary_stream)
            return grpc.unary_stream_rpc_method_handler(behavior, **codecs)
        behavior = self._wrap_unary(method, handler.unary_unary)
        return grpc.unary_unary_rpc_method_handler(behavior, **codecs)


def _written(stream: StreamBehavior) -> Behavior:
    """A handler that writes `stream`'s answers itself and always closes it in
    this task (grpc runs a coroutine handler as the RPC's task)."""

    async def handler(request: Any, context: aio.ServicerContext) -> None:
        async with contextlib.aclosing(stream(request, context)) as responses:
            async for response in responses:
                try:
                    await context.write(response)
                except ExecuteBatchError:
                    # The caller closed the stream before grpc noticed (the write
                    # raced its cancellation): end as a cancelled call, quietly.
                    raise asyncio.CancelledError from None

    return handler


# ------------------------------------------------------------------ tracing


class TracingLayer(RpcLayer):
    """A SERVER span per RPC, child of the caller's span (W3C `traceparent`).

    The span lives inside the RPC's task from start to end, so its context is
    attached and detached in the same task even when a stream is cut short.
    """

    def __init__(
        self,
        provider: TracerProvider,
        traced: Callable[[grpc.HandlerCallDetails], bool] | None = None,
    ) -> None:
        self._tracer = provider.get_tracer("micrographia.rpc")
        self._traced = traced

    def _is_traced(self, method: str) -> bool:
        if self._traced is None:
            return True
        return self._traced(_CallDetails(method))

    @contextlib.contextmanager
    def _span(self, method: str, context: aio.ServicerContext) -> Iterator[None]:
        carrier = {item.key: item.value for item in context.invocation_metadata() or ()}
        service, _, name = method.lstrip("/").partition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        with self._tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=trace.SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            finally:
                code = _status_code(context)
                span.set_attribute("rpc.grpc.status_code", code.value[0])
                if code in _SERVER_FAULTS:
                    span.set_status(trace.StatusCode.ERROR, code.name)

    def wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        if not self._is_traced(method):
            return behavior

        async def unary(request: Any, context: aio.ServicerContext) -> Any:
            with self._span(method, context):
                return await behavior(request, context)

        return unary

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        if not self._is_traced(method):
            return behavior

        async def stream(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            with self._span(method, context):
                async with contextlib.aclosing(behavior(request, context)) as responses:
                    async for response in responses:
                        yield response

        return stream


class _CallDetails(grpc.HandlerCallDetails):
    """What OpenTelemetry's method filters look at."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


# Statuses that are the server's fault (a span in error); a caller's bad input
# or a missing resource is a correct answer.
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


# ------------------------------------------------------------------ errors


class ErrorLayer(RpcLayer):
    """Turns exceptions escaping a servicer into gRPC statuses."""

    def wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        async def unary(request: Any, context: aio.ServicerContext) -> Any:
            try:
                return await behavior(request, context)
            except Exception as error:
                await _abort_for(error, context, method)

        return unary

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        async def stream(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                async with contextlib.aclosing(behavior(request, context)) as responses:
                    async for response in responses:
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
    elif _database_outage(error):
        # The database is gone, not this request's fault: UNAVAILABLE (503), so
        # callers retry, and health turns NOT_SERVING meanwhile (common.server).
        logger.warning("database unreachable in %s: %s", method, error)
        status = status_for_error(_database_unavailable())
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


# ------------------------------------------------------------------ access log


class AccessLogLayer(RpcLayer):
    """Logs method, status code and duration of every RPC; a call its caller
    abandoned is logged as CANCELLED."""

    def wrap_unary(self, method: str, behavior: Behavior) -> Behavior:
        async def unary(request: Any, context: aio.ServicerContext) -> Any:
            started = time.perf_counter()
            cancelled = False
            try:
                return await behavior(request, context)
            except asyncio.CancelledError:
                cancelled = True
                raise
            finally:
                _log_call(method, context, started, cancelled)

        return unary

    def wrap_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        async def stream(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            cancelled = False
            try:
                async with contextlib.aclosing(behavior(request, context)) as responses:
                    async for response in responses:
                        yield response
            except (asyncio.CancelledError, GeneratorExit):
                cancelled = True  # the caller went away (or the write to it failed)
                raise
            finally:
                _log_call(method, context, started, cancelled)

        return stream


def _status_code(context: aio.ServicerContext, cancelled: bool = False) -> grpc.StatusCode:
    if cancelled or context.cancelled():
        return grpc.StatusCode.CANCELLED
    code = context.code() or grpc.StatusCode.OK
    if isinstance(code, int):  # some grpc versions report the numeric value
        code = next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
    return code


def _log_call(method: str, context: aio.ServicerContext, started: float, cancelled: bool) -> None:
    code = _status_code(context, cancelled)
    elapsed_ms = (time.perf_counter() - started) * 1000
    level = (
        logging.WARNING
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
        else logging.INFO
    )
    logger.log(level, "rpc %s %s %.1fms peer=%s", method, code.name, elapsed_ms, context.peer())


def _database_outage(error: BaseException) -> bool:
    """Whether `error` is a lost database. A process that never imported asyncpg
    has no database (inference): nothing to ask, and asyncpg stays out of it."""
    if "asyncpg" not in sys.modules:
        return False
    from common import db

    return db.is_outage(error)


def _database_unavailable() -> errors.Unavailable:
    from common import db

    return db.database_unavailable()
