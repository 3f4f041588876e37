"""A lost database is an outage, not a bug: requests that need it are 503
SERVICE_UNAVAILABLE naming the database, health says NOT_SERVING (and the
edge's /health "degraded") while it is gone, and all of it recovers by itself
when it is back. The database is cut by a relay between the service and the
real PostgreSQL, as a stopped server would be."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.server import ServiceRunner
from edge.settings import EdgeSettings
from services.slides.service import SlidesService
from services.slides.settings import SlidesSettings
from tests.harness import RunningPlatform, free_port


class DatabaseLink:
    """A TCP relay to PostgreSQL that can be cut (every connection dropped, new
    ones refused) and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
def outage(platform: RunningPlatform, database_url: str, tmp_path) -> Iterator[tuple]:
    """A slides service whose database goes through a `DatabaseLink`, behind its own edge."""
    real = urlsplit(database_url)
    link = DatabaseLink((real.hostname or "127.0.0.1", real.port or 5432))
    platform.loop.run(link.restore())
    relayed = real._replace(netloc=f"{real.username or 'postgres'}@127.0.0.1:{link.port}")
    peers = platform.platform.model_copy(
        update={"database_url": relayed.geturl(), "slides_dir": tmp_path / "slides"}
    )
    settings = SlidesSettings(host="127.0.0.1", port=0, grace_period_s=1, dependency_check_s=0.2)
    runner = ServiceRunner(SlidesService, settings, peers)
    platform.loop.run(runner.start())
    platform.loop.run(runner.wait_ready())
    try:
        with platform.extra_edge(
            EdgeSettings(port=free_port()), slides_address=runner.address
        ) as base_url:
            yield link, runner, base_url
    finally:
        platform.loop.run(runner.stop(grace=1))
        platform.loop.run(link.cut()) if link._server is not None else None


def _health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        request = health_pb2.HealthCheckRequest(service="")
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def _eventually(check, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_lost_database_is_503_not_serving_and_recovers_by_itself(platform, outage):
    link, runner, base_url = outage
    serving, not_serving = (
        health_pb2.HealthCheckResponse.SERVING,
        (health_pb2.HealthCheckResponse.NOT_SERVING),
    )
    with httpx.Client(base_url=base_url, timeout=30) as edge:
        assert edge.get("/api/slides").status_code == 200

        platform.loop.run(link.cut())
        response = edge.get("/api/slides")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error_code"] == "SERVICE_UNAVAILABLE"
        assert "database" in body["error"].lower() and "127.0.0.1" not in body["error"]
        _eventually(lambda: _health(runner.address) == not_serving, "health stayed SERVING")
        health = edge.get("/health").json()
        assert health["status"] == "degraded"
        assert health["backends"]["slides"]["status"] == "not_serving"

        platform.loop.run(link.restore())
        _eventually(lambda: _health(runner.address) == serving, "health never SERVING again")
        _eventually(lambda: edge.get("/api/slides").status_code == 200, "requests still fail")
        assert edge.get("/health").json()["backends"]["slides"]["status"] == "serving"
