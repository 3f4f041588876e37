"""Server-Sent Events from backend streams.

The first event is pulled before the response starts, so a failure known up
front (unknown job, unknown slide, bad region) still gets its HTTP status and
error body; a failure after streaming began arrives as an `error` event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from edge.errors import BackendError, error_body

Event = tuple[str, Any]


def encode_event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def event_stream(events: AsyncIterator[Event]) -> StreamingResponse:
    iterator = aiter(events)
    first: Event | None = await anext(iterator, None)

    async def body() -> AsyncIterator[bytes]:
        if first is None:
            return
        yield encode_event(*first)
        try:
            async for name, data in iterator:
                yield encode_event(name, data)
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
