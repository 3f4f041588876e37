"""The real platform, in-process, for tests.

`LoopThread` runs an asyncio loop in a background thread so tests stay plain
synchronous code. `RunningPlatform` starts the five real services on free
loopback ports (all-in-one mode) against a real PostgreSQL database, and the
real edge under uvicorn, and can stop and restart any one service.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import uvicorn

from common.server import ServiceRunner
from common.settings import PlatformSettings
from edge.app import create_app
from edge.listen import bind_sockets
from edge.settings import EdgeSettings
from services.registry import SERVICES

T = TypeVar("T")


class LoopThread:
    """An event loop in a daemon thread; `run()` executes a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="test-loop")
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.run(_cancel_pending_tasks(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


async def _cancel_pending_tasks() -> None:
    """Cancel what is still running in the loop (e.g. SSE watchers) so it ends cleanly."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------ database


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def create_test_database(base_url: str) -> str:
    """A fresh database with PostGIS and btree_gist; returns its URL."""
    name = f"micrographia_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_with_database(base_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = _with_database(base_url, name)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public")
        await connection.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
    finally:
        await connection.close()
    return url


async def drop_test_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# ------------------------------------------------------------------ platform


class RunningPlatform:
    """The five services and the edge, running in `loop` on loopback ports."""

    def __init__(self, loop: LoopThread, platform: PlatformSettings, edge: EdgeSettings) -> None:
        self.loop = loop
        self.platform = platform
        self.edge_settings = edge
        self.runners: dict[str, ServiceRunner] = {}
        self._ports: dict[str, int] = {}
        self._edge_server: uvicorn.Server | None = None
        self._edge_task: asyncio.Task[None] | None = None
        self.app = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.edge_settings.port}"

    def address(self, name: str) -> str:
        return self.platform.address_of(name)

    async def _start_service(self, name: str) -> None:
        service_class, settings_class = SERVICES[name]
        # A restarted service keeps its port, so peers and the edge find it again.
        settings = settings_class(host="127.0.0.1", port=self._ports.get(name, 0), grace_period_s=2)
        runner = ServiceRunner(service_class, settings, self.platform)
        port = await runner.start()
        await runner.wait_ready()
        self._ports[name] = port
        setattr(self.platform, f"{name}_address", f"127.0.0.1:{port}")
        self.runners[name] = runner
        if self.app is not None:
            # Back for users once the edge has reconnected: its channel may still be
            # in reconnect backoff (up to 2 s) from the outage, answering 503 meanwhile.
            channel = self.app.state.backends[name].channel
            await asyncio.wait_for(channel.channel_ready(), timeout=10)

    async def _start(self) -> None:
        for name in SERVICES:
            await self._start_service(name)
        self.edge_settings.port = self.edge_settings.port or free_port()
        self.app = create_app(self.platform, self.edge_settings)
        self._edge_server, self._edge_task = await serve_edge(self.app, self.edge_settings)

    async def _stop(self) -> None:
        if self._edge_server is not None:
            self._edge_server.should_exit = True
            await self._edge_task
        for runner in self.runners.values():
            await runner.stop(grace=1)
        self.runners.clear()

    def start(self) -> RunningPlatform:
        self.loop.run(self._start())
        return self

    def stop(self) -> None:
        self.loop.run(self._stop())

    @contextmanager
    def extra_edge(self, edge: EdgeSettings, **platform_changes: Any) -> Iterator[str]:
        """A second edge on the same services with other settings; yields its base URL."""
        platform = self.platform.model_copy(update=platform_changes)
        app = create_app(platform, edge)
        server, task = self.loop.run(serve_edge(app, edge))
        try:
            yield f"http://{edge.host[0]}:{edge.port}"
        finally:
            server.should_exit = True
            self.loop.run(asyncio.wait_for(task, 10))

    def stop_service(self, name: str) -> None:
        runner = self.runners.pop(name)
        self.loop.run(runner.stop(grace=1))

    def start_service(self, name: str) -> None:
        self.loop.run(self._start_service(name))


async def serve_edge(app, settings: EdgeSettings) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """Run `app` under uvicorn in the current loop until it has started."""
    config = uvicorn.Config(
        app,
        port=settings.port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=bind_sockets(settings.host, settings.port)))
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
        await asyncio.sleep(0.02)
    return server, task


def platform_settings(database_url: str, data_root: Path, slides_dir: Path) -> PlatformSettings:
    return PlatformSettings(
        database_url=database_url,
        data_roots=[data_root],
        slides_dir=slides_dir,
        inference_weights="random",
        cellpose_weights="random",
        api_keys=[],
        otel_exporter="none",
    )
