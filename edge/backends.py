"""The edge's view of the five services: channels opened and closed in the app
lifespan, a client per service whose every call has a deadline and whose
failures become `BackendError`, and health checks that never hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider

from common.channels import open_channel
from common.rpc_errors import RpcFailure
from common.settings import SERVICE_NAMES, PlatformSettings
from edge.errors import BackendError
from edge.settings import EdgeSettings
from micrographia.analysis.v1 import analysis_pb2_grpc
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from micrographia.microscopy.v1 import microscopy_pb2_grpc
from micrographia.slides.v1 import slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2_grpc

_STUBS = {
    "microscopy": microscopy_pb2_grpc.MicroscopyServiceStub,
    "analysis": analysis_pb2_grpc.AnalysisServiceStub,
    "slides": slides_pb2_grpc.SlidesServiceStub,
    "inference": inference_pb2_grpc.InferenceServiceStub,
    "spatial": spatial_pb2_grpc.SpatialServiceStub,
}


Request = TypeVar("Request")

# `timeout=NO_DEADLINE`: a stream that lives as long as its job (WatchJob) or
# its client; it ends with them, and channel keep-alives find a dead peer.
NO_DEADLINE = float("inf")


class BackendClient:
    """Calls one service: `await client.unary(client.stub.GetSlide, request)` or
    `async for item in client.stream(client.stub.ReadRegion, request)`, with the
    default deadline unless `timeout=` is given (`NO_DEADLINE` for none), and
    failures raised as `BackendError`. The typed clients (edge/clients/) make
    these calls; an RPC is named only through the service's generated stub."""

    def __init__(self, name: str, channel: aio.Channel, timeout_s: float) -> None:
        self.name = name
        self.channel = channel
        self._stub = _STUBS[name](channel)
        self._timeout_s = timeout_s

    @property
    def stub(self) -> Any:
        """The service's generated stub, for `unary(stub.Rpc, ...)` and `stream(...)`:
        the typed clients (edge/clients/) name each RPC through it."""
        return self._stub

    async def unary(
        self,
        method: aio.UnaryUnaryMultiCallable,
        request: Request,
        *,
        timeout: float | None = None,
    ) -> Any:
        """One call of `method` (a stub's RPC) with the deadline; BackendError on failure."""
        timeout = timeout or self._timeout_s
        try:
            return await method(request, timeout=_grpc_timeout(timeout))
        except grpc.RpcError as error:
            raise BackendError(self.name, RpcFailure.from_error(error), timeout) from None

    async def stream(
        self,
        method: aio.UnaryStreamMultiCallable,
        request: Request,
        *,
        timeout: float | None = None,
    ) -> AsyncIterator[Any]:
        """The answers of a server-streaming `method`; the call is cancelled when the
        caller stops reading (the client went away: the backend's work stops too)."""
        timeout = timeout or self._timeout_s
        call = method(request, timeout=_grpc_timeout(timeout))
        try:
            async for response in call:
                yield response
        except grpc.RpcError as error:
            raise BackendError(self.name, RpcFailure.from_error(error), timeout) from None
        finally:
            call.cancel()


def _grpc_timeout(timeout: float) -> float | None:
    return None if timeout == NO_DEADLINE else timeout


@dataclass
class BackendHealth:
    name: str
    address: str
    status: str  # "serving", "not_serving", "down"
    latency_ms: float | None
    error: str | None = None


class Backends:
    """Every service's client, opened in the app lifespan."""

    def __init__(
        self, platform: PlatformSettings, settings: EdgeSettings, tracer: TracerProvider
    ) -> None:
        self._platform = platform
        self.settings = settings
        self._tracer = tracer
        self._clients: dict[str, BackendClient] = {}

    async def open(self) -> None:
        for name in SERVICE_NAMES:
            channel = open_channel(
                self._platform.address_of(name), self._tracer, self.settings.max_message_bytes
            )
            self._clients[name] = BackendClient(name, channel, self.settings.request_timeout_s)

    async def close(self) -> None:
        await asyncio.gather(*(client.channel.close() for client in self._clients.values()))
        self._clients.clear()

    def __getitem__(self, name: str) -> BackendClient:
        return self._clients[name]

    @property
    def microscopy(self) -> BackendClient:
        return self._clients["microscopy"]

    @property
    def analysis(self) -> BackendClient:
        return self._clients["analysis"]

    @property
    def slides(self) -> BackendClient:
        return self._clients["slides"]

    @property
    def inference(self) -> BackendClient:
        return self._clients["inference"]

    @property
    def spatial(self) -> BackendClient:
        return self._clients["spatial"]

    async def check(self, name: str) -> BackendHealth:
        """One backend's health; a backend that is down answers "down" within the timeout."""
        address = self._platform.address_of(name)
        stub = health_pb2_grpc.HealthStub(self._clients[name].channel)
        started = time.perf_counter()
        try:
            response = await stub.Check(
                health_pb2.HealthCheckRequest(service=""), timeout=self.settings.health_timeout_s
            )
        except grpc.RpcError as error:
            failure = RpcFailure.from_error(error)
            # gRPC's own words: /health shows them to operators only (edge.routes.system).
            reason = failure.internal_message or failure.message
            return BackendHealth(name, address, "down", None, reason)
        latency = round((time.perf_counter() - started) * 1000, 2)
        serving = response.status == health_pb2.HealthCheckResponse.SERVING
        if serving:
            return BackendHealth(
                name, address, "serving", latency, await self._models_missing(name)
            )
        return BackendHealth(name, address, "not_serving", latency, await self._why_not(name))

    async def _why_not(self, name: str) -> str | None:
        """Why a backend is not serving, where it can say (inference: its model)."""
        if name != "inference":
            return None
        try:
            inference = self.inference
            info = await inference.unary(
                inference.stub.GetModelInfo,
                inference_pb2.GetModelInfoRequest(),
                timeout=self.settings.health_timeout_s,
            )
        except BackendError:
            return None
        return info.error or (None if info.loaded else "the model is loading")

    async def _models_missing(self, name: str) -> str | None:
        """What a serving backend cannot do (inference: Cellpose without weights); the
        backend still serves everything else."""
        if name != "inference":
            return None
        try:
            inference = self.inference
            info = await inference.unary(
                inference.stub.GetCellposeInfo,
                inference_pb2.GetCellposeInfoRequest(),
                timeout=self.settings.health_timeout_s,
            )
        except BackendError:
            return None
        return None if info.available else f"Cellpose is unavailable: {info.error}"

    async def check_all(self) -> list[BackendHealth]:
        return list(await asyncio.gather(*(self.check(name) for name in SERVICE_NAMES)))
