"""Server-Sent Events: keep-alives while the backend is quiet, without losing
or cancelling the pending event."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from edge.errors import ApiError
from edge.settings import EdgeSettings
from edge.sse import KEEPALIVE, encode_event, event_stream
from tests.harness import free_port


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


# The real edge and microscopy service: a job whose progress stream is quiet ----------


def _wait_for(condition, what: str, within_s: float = 10.0) -> None:
    """Polls `condition` (a liveness bound, not a speed figure)."""
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _watch_calls_ended(caplog) -> int:
    return sum("WatchJob" in record.getMessage() for record in caplog.records)


def test_client_leaving_cancels_the_quiet_backend_stream_at_once(edge, blocked_job, caplog):
    """The job stays running and silent: before the fix, WatchJob kept running
    on the service until the job's next change (here: never)."""
    job_id, _ = blocked_job
    caplog.set_level(logging.INFO, logger="micrographia.rpc")
    with edge.stream("GET", f"/api/processing/workflow/events/{job_id}") as response:
        assert response.status_code == 200
        chunks = response.iter_bytes()
        assert next(chunks).startswith(b"event: progress")
        time.sleep(0.3)
        assert _watch_calls_ended(caplog) == 0  # still watching while the client is there
    _wait_for(lambda: _watch_calls_ended(caplog) == 1, "WatchJob still running on the service")


def test_job_stream_has_no_deadline(platform, blocked_job):
    """With every deadline at 0.3 s, a job stream still only sends keep-alives."""
    job_id, release = blocked_job
    settings = EdgeSettings(
        port=free_port(), request_timeout_s=0.3, stream_timeout_s=0.3, sse_keepalive_s=0.2
    )
    url = f"/api/processing/workflow/events/{job_id}"
    with (
        platform.extra_edge(settings) as base_url,
        httpx.Client(base_url=base_url) as client,
        client.stream("GET", url) as response,
    ):
        chunks = response.iter_bytes()
        assert next(chunks).startswith(b"event: progress")
        quiet = [next(chunks) for _ in range(5)]  # a second of silence
        assert set(quiet) == {KEEPALIVE}
        release()
        rest = b"".join(chunks)
    assert b"event: error" not in rest
    assert b'"status":"completed"' in rest


async def _never_answers():
    await asyncio.Event().wait()
    yield "progress", {}


class _Gone:
    """A request whose client has already disconnected."""

    async def receive(self):
        return {"type": "http.disconnect"}


async def test_client_leaving_before_the_first_event_cancels_the_read():
    closed = asyncio.Event()

    async def events():
        try:
            async for event in _never_answers():
                yield event
        finally:
            closed.set()

    with pytest.raises(ApiError) as raised:
        await event_stream(events(), request=_Gone())
    assert raised.value.status_code == 499
    assert closed.is_set()


async def test_a_backend_slow_to_answer_gets_keepalives_from_the_start():
    """No first event within the keep-alive interval (a stopped backend): the
    stream starts anyway with keep-alives, and the event follows when it comes."""

    async def late_events():
        await asyncio.sleep(0.35)
        yield "progress", {"n": 1}

    response = await event_stream(late_events(), keepalive_s=0.1)
    assert response.status_code == 200
    received = [chunk async for chunk in response.body_iterator]
    assert received[0] == KEEPALIVE  # no timing bound: how many depends on the load
    assert received[-1] == encode_event("progress", {"n": 1})


async def test_a_backend_that_fails_after_keepalives_ends_with_an_error_event():
    async def failing():
        await asyncio.sleep(0.25)
        raise RuntimeError("boom")
        yield  # an async generator

    response = await event_stream(failing(), keepalive_s=0.1)
    received = [chunk async for chunk in response.body_iterator]
    assert received[0] == KEEPALIVE
    assert received[-1].startswith(b"event: error\n")


def test_a_job_stream_whose_backend_hangs_keeps_the_client_alive(platform):
    """The microscopy service stopped (SIGSTOP: connections accepted, nothing
    answered): the job's event stream still starts and sends keep-alives from
    the edge itself instead of silence."""
    from tests.edge.conftest import hung_service

    settings = EdgeSettings(port=free_port(), sse_keepalive_s=0.2)
    job_id = "00000000-0000-4000-8000-000000000000"
    # The edge starts after the service hangs, as a SIGSTOP leaves an open
    # connection that never answers; a service stopped under a connected channel
    # would instead be known gone at once (UNAVAILABLE, a 503).
    with (
        hung_service(platform, "microscopy"),
        platform.extra_edge(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
        client.stream("GET", f"/api/processing/workflow/events/{job_id}") as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == ": keep-alive"
