"""Server-Sent Events from backend streams.

The first event is pulled before the response starts, so a failure known up
front (unknown job, unknown slide, bad region) still gets its HTTP status and
error body; a failure after streaming began arrives as an `error` event. While
the backend is quiet, a comment line goes out every `keepalive_s` seconds so
proxies do not drop the connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from edge.errors import BackendError, error_body

Event = tuple[str, Any]

KEEPALIVE = b": keep-alive\n\n"


def encode_event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _with_keepalive(
    iterator: AsyncIterator[Event], keepalive_s: float
) -> AsyncIterator[Event | None]:
    """The events of `iterator`, with None whenever it stayed quiet for `keepalive_s`."""
    while True:
        # One pending read, never cancelled by the wait: cancelling it would
        # cancel the backend stream underneath.
        next_event = asyncio.ensure_future(anext(iterator))
        while True:
            done, _ = await asyncio.wait({next_event}, timeout=keepalive_s)
            if done:
                break
            yield None
        try:
            yield next_event.result()
        except StopAsyncIteration:
            return


async def event_stream(
    events: AsyncIterator[Event], keepalive_s: float = 15.0
) -> StreamingResponse:
    iterator = aiter(events)
    first: Event | None = await anext(iterator, None)

    async def body() -> AsyncIterator[bytes]:
        if first is None:
            return
        yield encode_event(*first)
        try:
            async for event in _with_keepalive(iterator, keepalive_s):
                yield KEEPALIVE if event is None else encode_event(*event)
        except BackendError as error:
            failure = error.failure
            yield encode_event(
                "error", error_body(failure.error_code, failure.message, failure.details)
            )

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
