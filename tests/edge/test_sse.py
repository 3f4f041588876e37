"""Server-Sent Events: keep-alives while the backend is quiet, without losing
or cancelling the pending event."""

from __future__ import annotations

import asyncio

from edge.sse import KEEPALIVE, encode_event, event_stream


async def slow_events():
    yield "progress", {"n": 1}
    await asyncio.sleep(0.35)
    yield "progress", {"n": 2}


async def test_quiet_backend_gets_keepalives_and_no_event_is_lost():
    response = await event_stream(slow_events(), keepalive_s=0.1)
    received = [chunk async for chunk in response.body_iterator]
    assert received[0] == encode_event("progress", {"n": 1})
    assert received[-1] == encode_event("progress", {"n": 2})
    assert 2 <= received.count(KEEPALIVE) <= 4


def test_event_encoding_is_one_json_line():
    assert encode_event("complete", {"a": [1, 2]}) == b'event: complete\ndata: {"a":[1,2]}\n\n'
