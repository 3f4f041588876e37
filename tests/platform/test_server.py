"""The common service bootstrap on a real grpc.aio server over loopback.

The servicer here is a probe whose RPCs fail on demand; what is under test is
the real bootstrap around it: interceptors, health, reflection, shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from common import errors
from common.rpc_errors import RpcFailure
from common.server import GrpcService, ServiceRunner
from common.settings import PlatformSettings, ServerSettings
from micrographia.slides.v1 import slides_pb2, slides_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
SERVICE = slides_pb2.DESCRIPTOR.services_by_name["SlidesService"].full_name


class ProbeServicer(slides_pb2_grpc.SlidesServiceServicer):
    """GetSlide behaves as its slide_id says; ReadRegion fails mid-stream."""

    def __init__(self, service: ProbeService) -> None:
        self.service = service

    async def GetSlide(self, request, context):
        match request.slide_id:
            case "missing":
                raise errors.NotFound("Slide missing not found", slide_id="missing")
            case "boom":
                raise RuntimeError("secret internal detail")
            case "slow":
                await asyncio.sleep(1.0)
            case "peer":
                # A peer that is down: its UNAVAILABLE passes through.
                async with aio.insecure_channel("127.0.0.1:1") as channel:
                    await slides_pb2_grpc.SlidesServiceStub(channel).ListSlides(
                        slides_pb2.ListSlidesRequest(), timeout=2
                    )
        return slides_pb2.GetSlideResponse(slide=slides_pb2.Slide(id=request.slide_id))

    async def ReadRegion(self, request, context):
        yield slides_pb2.ReadRegionResponse(chunk=b"first")
        raise errors.InvalidArgument("region is empty after clamping", code="INVALID_PARAMETERS")


class ProbeService(GrpcService):
    name = "probe"
    service_names = (SERVICE,)

    def __init__(self, context) -> None:
        super().__init__(context)
        self.warm = asyncio.Event()

    async def setup(self, server: aio.Server) -> None:
        slides_pb2_grpc.add_SlidesServiceServicer_to_server(ProbeServicer(self), server)

    async def ready(self) -> None:
        await self.warm.wait()


@pytest.fixture
async def runner():
    runner = ServiceRunner(
        ProbeService, ServerSettings(port=0, grace_period_s=3), PlatformSettings()
    )
    await runner.start()
    yield runner
    await runner.stop(grace=0)


async def _health(channel: aio.Channel, service: str = "") -> int:
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=2
    )
    return response.status


async def test_health_is_not_serving_until_ready(runner):
    async with aio.insecure_channel(runner.address) as channel:
        assert await _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        runner.service.warm.set()
        await runner.wait_ready()
        assert await _health(channel) == health_pb2.HealthCheckResponse.SERVING
        assert await _health(channel, SERVICE) == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_service(runner):
    async with aio.insecure_channel(runner.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for response in stub.ServerReflectionInfo(iter([request])):
            names = {service.name for service in response.list_services_response.service}
            break
    assert SERVICE in names and "grpc.health.v1.Health" in names


async def _get(channel: aio.Channel, slide_id: str) -> RpcFailure:
    stub = slides_pb2_grpc.SlidesServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        await stub.GetSlide(slides_pb2.GetSlideRequest(slide_id=slide_id), timeout=5)
    return RpcFailure.from_error(raised.value)


async def test_service_error_becomes_its_status_with_error_info(runner):
    async with aio.insecure_channel(runner.address) as channel:
        failure = await _get(channel, "missing")
    assert failure.grpc_code is grpc.StatusCode.NOT_FOUND
    assert failure.error_code == "NOT_FOUND"
    assert failure.message == "Slide missing not found"
    assert failure.details == {"slide_id": "missing"}


async def test_unexpected_exception_is_internal_with_an_id_that_is_logged(runner, caplog):
    caplog.set_level(logging.ERROR, logger="micrographia.rpc")
    async with aio.insecure_channel(runner.address) as channel:
        failure = await _get(channel, "boom")
    assert failure.grpc_code is grpc.StatusCode.INTERNAL
    assert failure.error_code == "INTERNAL_ERROR"
    assert "secret internal detail" not in failure.message
    error_id = failure.details["error_id"]
    assert error_id in failure.message
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the traceback is in the log"


async def test_failed_peer_call_passes_its_status_through(runner):
    async with aio.insecure_channel(runner.address) as channel:
        failure = await _get(channel, "peer")
    assert failure.grpc_code is grpc.StatusCode.UNAVAILABLE


async def test_unimplemented_rpc_says_so(runner):
    async with aio.insecure_channel(runner.address) as channel:
        stub = slides_pb2_grpc.SlidesServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            await stub.ListSlides(slides_pb2.ListSlidesRequest(), timeout=5)
    failure = RpcFailure.from_error(raised.value)
    assert failure.grpc_code is grpc.StatusCode.UNIMPLEMENTED
    assert failure.error_code == "NOT_IMPLEMENTED"
    assert "ListSlides" in failure.message


async def test_error_in_the_middle_of_a_stream(runner):
    async with aio.insecure_channel(runner.address) as channel:
        stub = slides_pb2_grpc.SlidesServiceStub(channel)
        received = []
        with pytest.raises(grpc.RpcError) as raised:
            async for message in stub.ReadRegion(slides_pb2.ReadRegionRequest(), timeout=5):
                received.append(message.chunk)
    assert received == [b"first"]
    failure = RpcFailure.from_error(raised.value)
    assert failure.grpc_code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.error_code == errors.INVALID_PARAMETERS


async def test_graceful_shutdown_reports_not_serving_then_drains(runner):
    runner.service.warm.set()
    await runner.wait_ready()
    async with aio.insecure_channel(runner.address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        stub = slides_pb2_grpc.SlidesServiceStub(channel)
        in_flight = asyncio.ensure_future(
            stub.GetSlide(slides_pb2.GetSlideRequest(slide_id="slow"), timeout=10)
        )
        await asyncio.sleep(0.2)  # the slow call is running
        stopping = asyncio.create_task(runner.stop())
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        response = await in_flight  # drained, not cut off
        assert response.slide.id == "slow"
        await stopping
        with pytest.raises(grpc.RpcError):
            await _health(channel)


async def test_every_call_is_logged_with_its_status(runner, caplog):
    caplog.set_level(logging.INFO, logger="micrographia.rpc")
    async with aio.insecure_channel(runner.address) as channel:
        stub = slides_pb2_grpc.SlidesServiceStub(channel)
        await stub.GetSlide(slides_pb2.GetSlideRequest(slide_id="fine"), timeout=5)
        await _get(channel, "missing")
        await _health(channel)
    lines = [r.getMessage() for r in caplog.records if r.name == "micrographia.rpc"]
    assert any("SlidesService/GetSlide OK" in line for line in lines)
    assert any("SlidesService/GetSlide NOT_FOUND" in line for line in lines)
    assert not any("grpc.health" in line for line in lines), "probes are not logged"


async def test_clients_are_sent_away_to_re_resolve_but_calls_in_flight_finish():
    """After max_connection_age the server sends GOAWAY: the client's channel leaves
    READY (so a headless Service is looked up again), and the call running then
    still completes."""
    settings = ServerSettings(port=0, max_connection_age_s=0.5)
    runner = ServiceRunner(ProbeService, settings, PlatformSettings())
    await runner.start()
    try:
        async with aio.insecure_channel(runner.address) as channel:
            stub = slides_pb2_grpc.SlidesServiceStub(channel)
            in_flight = stub.GetSlide(slides_pb2.GetSlideRequest(slide_id="slow"), timeout=10)
            await channel.channel_ready()
            await asyncio.wait_for(
                channel.wait_for_state_change(grpc.ChannelConnectivity.READY), 10
            )
            assert channel.get_state() is not grpc.ChannelConnectivity.READY
            assert (await in_flight).slide.id == "slow"
    finally:
        await runner.stop(grace=0)


def test_streams_survive_callers_that_leave_mid_write():
    """A caller that cancels a server stream while an answer is being written
    leaves nothing behind that outlives the call: no crash in grpc's core, no
    tracing context detached from another task, and the call is logged as
    CANCELLED (not OK)."""
    times = 150
    result = subprocess.run(
        [sys.executable, "-m", "tests.platform.early_close", str(times)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"the service died with {result.returncode}: {result.stderr[-2000:]}"
    )
    assert f"survived {times}" in result.stdout
    assert "Failed to detach context" not in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    logged = [line for line in result.stderr.splitlines() if "SlidesService/ReadRegion" in line]
    assert len(logged) == times
    assert all(" CANCELLED " in line for line in logged), logged[:3]
