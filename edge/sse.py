"""Server-Sent Events from backend streams: the one helper every SSE route uses.

    @router.post("/viewport-stream")
    async def viewport_stream(body: ViewportBody, request: Request, clients: ClientsDep):
        async def events() -> AsyncIterator[Event]:
            async for message in clients.spatial.analyze_viewport(body):
                yield "progress", to_json(message.progress)

        keepalive_s = clients.settings.sse_keepalive_s
        return await event_stream(events(), keepalive_s, request=request)

What the helper guarantees:
- The first event is awaited before the response starts, so a failure known up
  front (unknown job, unknown slide, bad region) still gets its HTTP status and
  error body; a backend that has not answered within `keepalive_s` (stopped,
  hung) does not keep the client waiting in silence: the response starts then,
  with keep-alives until the backend answers; a failure after streaming began
  arrives as the last event, an `error` whose data carries `"type": "error"`,
  a human `message` and the `error_code` (`edge.errors.error_event`), so
  clients that dispatch on `data.type` show it.
- While the backend is quiet, a comment line goes out every `keepalive_s`
  seconds so proxies do not drop the connection.
- When the client disconnects (also while waiting for the first event), the
  pending backend read is cancelled at once and `events` is closed, so the
  backend call is cancelled with it: the backend stops its work without waiting
  for its next message.

Streams that live as long as their job (WatchJob) pass `timeout=NO_DEADLINE`
(edge.backends) to the backend call: they end when the job ends or the client
leaves, never on a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from edge.errors import ApiError, BackendError, error_event, unexpected_error, user_message

Event = tuple[str, Any]

KEEPALIVE = b": keep-alive\n\n"
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def encode_event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _closed(iterator: AsyncIterator[Any]) -> None:
    """Close an async generator (runs its `finally`: the backend call is cancelled)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


async def _cancelled(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def _with_keepalive(
    iterator: AsyncIterator[Event], keepalive_s: float
) -> AsyncIterator[Event | None]:
    """The events of `iterator`, with None whenever it stayed quiet for `keepalive_s`.

    However this generator ends (the stream is over, or the response task was
    cancelled because the client left), the pending read is cancelled and
    `iterator` closed, at once.
    """
    next_event: asyncio.Task[Event] | None = None
    try:
        while True:
            # One pending read, kept across keep-alives: cancelling it would
            # cancel the backend stream underneath.
            next_event = asyncio.ensure_future(anext(iterator))
            while True:
                done, _ = await asyncio.wait({next_event}, timeout=keepalive_s)
                if done:
                    break
                yield None
            try:
                event = next_event.result()
            except StopAsyncIteration:
                return
            next_event = None
            yield event
    finally:
        if next_event is not None and not next_event.done():
            await _cancelled(next_event)
        await _closed(iterator)


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone away."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


_PENDING: Any = object()  # the first event is still awaited when the response starts


async def _first_event(
    request: Request | None, read: asyncio.Future[Event | None], wait_s: float
) -> Event | None:
    """The first event, None for an empty stream, or `_PENDING` when none came
    within `wait_s`; a client that leaves meanwhile cancels the read (499)."""
    waiting = {read}
    gone = asyncio.ensure_future(_disconnected(request)) if request is not None else None
    if gone is not None:
        waiting.add(gone)
    try:
        await asyncio.wait(waiting, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if gone is not None:
            await _cancelled(gone)
    if gone is not None and gone.done() and not gone.cancelled() and not read.done():
        await _cancelled(read)
        raise ApiError(499, "CANCELLED", "The client went away")
    if not read.done():
        return _PENDING
    return read.result()


async def event_stream(
    events: AsyncIterator[Event], keepalive_s: float = 15.0, *, request: Request | None = None
) -> StreamingResponse:
    """`events` ((name, JSON-able data) pairs) as a text/event-stream response.

    `request` lets a client that leaves before the first event cancel the
    backend call too (None: only once streaming has begun).
    """
    iterator = aiter(events)
    read = asyncio.ensure_future(anext(iterator, None))
    try:
        first = await _first_event(request, read, keepalive_s)
    except BaseException:
        await _cancelled(read)
        await _closed(iterator)
        raise

    async def body() -> AsyncIterator[bytes]:
        nonlocal first
        try:
            while first is _PENDING:  # the backend is slow to answer: keep the client
                done, _ = await asyncio.wait({read}, timeout=keepalive_s)
                first = read.result() if done else _PENDING
                if first is _PENDING:
                    yield KEEPALIVE
        except BackendError as error:
            message, details = user_message(error)
            yield encode_event("error", error_event(error.failure.error_code, message, details))
            return
        except Exception as error:
            code, message, details = unexpected_error(error, request)
            yield encode_event("error", error_event(code, message, details))
            return
        finally:
            if not read.done():  # the client left first
                await _cancelled(read)
                await _closed(iterator)
        if first is None:
            return
        yield encode_event(*first)
        try:
            async for event in _with_keepalive(iterator, keepalive_s):
                yield KEEPALIVE if event is None else encode_event(*event)
        except BackendError as error:
            message, details = user_message(error)
            yield encode_event("error", error_event(error.failure.error_code, message, details))
        except Exception as error:  # the stream's last word either way: never silence
            code, message, details = unexpected_error(error, request)
            yield encode_event("error", error_event(code, message, details))

    # Starlette runs `body` in a task that it cancels as soon as the client
    # disconnects (it listens for http.disconnect beside it); the `finally` of
    # `_with_keepalive` then cancels the backend read. The background close
    # covers a client gone before `body` began.
    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers=_HEADERS,
        background=BackgroundTask(_closed, iterator),
    )
