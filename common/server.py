"""Service bootstrap: the same grpc.aio server for every service.

A service is a `GrpcService` subclass: it registers its servicers in `setup()`
(after opening what they need: a database pool, migrations), may finish warming
up in `ready()` (a model load) while health reports NOT_SERVING, and releases
resources in `close()`. Once ready, health follows `unavailable_because()`
(a service with a database pool: NOT_SERVING while it cannot reach the
database, SERVING again by itself when it is back). `ServiceRunner` adds the
standard health service, reflection, interceptors and graceful shutdown around
it; `run_service()` is what `python -m services.<name>` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.sdk.trace import TracerProvider

from common.channels import KEEPALIVE_TIME_MS, open_channel
from common.interceptors import AccessLogLayer, ErrorLayer, ServiceInterceptor, TracingLayer
from common.logs import configure_logging
from common.settings import PlatformSettings, ServerSettings
from common.telemetry import TRACED, tracer_provider_for

logger = logging.getLogger("micrographia.server")


@dataclass
class ServiceContext:
    """What a service is built from: settings, telemetry and channels to its peers."""

    platform: PlatformSettings
    server: ServerSettings
    tracer_provider: TracerProvider
    _channels: dict[str, aio.Channel] = field(default_factory=dict)

    def channel(self, peer: str) -> aio.Channel:
        """A shared, traced channel to the named peer service (opened on first use)."""
        if peer not in self._channels:
            self._channels[peer] = open_channel(
                self.platform.address_of(peer), self.tracer_provider, self.server.max_message_bytes
            )
        return self._channels[peer]

    async def close_channels(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()


class GrpcService:
    """Base class of the five services."""

    #: Short name: "microscopy", "slides", ...
    name: ClassVar[str]
    #: Fully-qualified gRPC service names this service registers.
    service_names: ClassVar[tuple[str, ...]]

    #: The service's database pool, when it has one (opened in `setup()`).
    # An asyncpg.Pool; asyncpg itself stays out of services without a database.
    pool: Any = None

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    async def unavailable_because(self) -> str | None:
        """Why the service cannot serve now (a dependency it cannot reach), or
        None; polled every `ServerSettings.dependency_check_s` once ready."""
        if self.pool is None:
            return None
        from common import db  # a service with a pool has asyncpg

        if not await db.reachable(self.pool):
            return "the database is unreachable"
        return None

    async def setup(self, server: aio.Server) -> None:
        """Open resources and add servicers to `server` (before it starts)."""
        raise NotImplementedError

    async def ready(self) -> None:
        """Finish warming up; health turns SERVING when this returns."""

    async def close(self) -> None:
        """Release resources (after the server stopped)."""


ServiceFactory = Callable[[ServiceContext], GrpcService]


class ServiceRunner:
    """Runs one service on its own grpc.aio server."""

    def __init__(
        self,
        factory: ServiceFactory,
        server_settings: ServerSettings,
        platform: PlatformSettings,
    ) -> None:
        self.settings = server_settings
        self.tracer_provider = tracer_provider_for(getattr(factory, "name", "service"), platform)
        self.context = ServiceContext(platform, server_settings, self.tracer_provider)
        self.service = factory(self.context)
        self.health = health.aio.HealthServicer()
        self.port: int | None = None
        self._server: aio.Server | None = None
        self._ready_task: asyncio.Task[None] | None = None
        self._serving = False
        self._dependencies_task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.port}"

    async def start(self) -> int:
        """Set the service up, bind, start serving; returns the bound port."""
        size = self.settings.max_message_bytes
        server = aio.server(
            interceptors=[
                ServiceInterceptor(
                    [TracingLayer(self.tracer_provider, TRACED), AccessLogLayer(), ErrorLayer()]
                )
            ],
            options=[
                ("grpc.max_send_message_length", size),
                ("grpc.max_receive_message_length", size),
                ("grpc.so_reuseport", 0),
                ("grpc.max_connection_age_ms", int(self.settings.max_connection_age_s * 1000)),
                # Peers ping every KEEPALIVE_TIME_MS under quiet streams (common.channels).
                ("grpc.http2.min_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
            ],
        )
        await self.service.setup(server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        names = (*self.service.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        for name in ("", *self.service.service_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        self.port = server.add_insecure_port(f"{self.settings.host}:{self.settings.port}")
        await server.start()
        self._server = server
        self._ready_task = asyncio.create_task(self._become_ready())
        logger.info("%s listening on %s", self.service.name, self.address)
        return self.port

    async def _become_ready(self) -> None:
        try:
            await self.service.ready()
        except Exception:
            logger.exception(
                "%s failed to become ready; health stays NOT_SERVING", self.service.name
            )
            return
        await self._set_serving(True)
        logger.info("%s serving", self.service.name)
        self._dependencies_task = asyncio.create_task(self._follow_dependencies())

    async def _set_serving(self, serving: bool) -> None:
        self._serving = serving
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else (health_pb2.HealthCheckResponse.NOT_SERVING)
        )
        for name in ("", *self.service.service_names):
            await self.health.set(name, status)

    async def _follow_dependencies(self) -> None:
        """Health NOT_SERVING while a dependency is unreachable, SERVING once back."""
        while True:
            await asyncio.sleep(self.settings.dependency_check_s)
            try:
                reason = await self.service.unavailable_because()
            except Exception:
                logger.exception("%s: checking its dependencies failed", self.service.name)
                continue
            if reason is not None and self._serving:
                logger.warning("%s not serving: %s", self.service.name, reason)
                await self._set_serving(False)
            elif reason is None and not self._serving:
                logger.info("%s serving again", self.service.name)
                await self._set_serving(True)

    async def wait_ready(self) -> None:
        """Wait until `ready()` finished (tests, all-in-one startup)."""
        if self._ready_task is not None:
            await asyncio.shield(self._ready_task)

    async def stop(self, grace: float | None = None) -> None:
        """Health NOT_SERVING, then drain in-flight RPCs for `grace` seconds, then close."""
        if self._server is None:
            return
        for task in (self._ready_task, self._dependencies_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.health.enter_graceful_shutdown()
        grace = self.settings.grace_period_s if grace is None else grace
        logger.info("%s draining (grace %.1fs)", self.service.name, grace)
        await self._server.stop(grace)
        self._server = None
        await self.service.close()
        await self.context.close_channels()
        self.tracer_provider.shutdown()
        logger.info("%s stopped", self.service.name)


async def serve_until_signalled(runners: list[ServiceRunner]) -> None:
    """Start `runners`, wait for SIGTERM or SIGINT, then stop them all gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started: list[ServiceRunner] = []
    try:
        for runner in runners:
            await runner.start()
            started.append(runner)
        await stop.wait()
        logger.info("shutdown requested")
    finally:
        await asyncio.gather(*(runner.stop() for runner in started))


def run_service(factory: ServiceFactory, server_settings: ServerSettings) -> None:
    """Entry point of `python -m services.<name>`."""
    platform = PlatformSettings()
    configure_logging(platform.log_level, platform.log_format)
    asyncio.run(serve_until_signalled([ServiceRunner(factory, server_settings, platform)]))
    ignore_late_signals()


def ignore_late_signals() -> None:
    """After a clean shutdown, a second SIGTERM or SIGINT (a process manager
    signalling the whole group) must not turn exit code 0 into a signal death."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
