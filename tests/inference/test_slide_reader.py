"""The inference service's slides client: a slides service that stops mid-answer is
an outage to wait for (UNAVAILABLE naming slides), not a failed region. The peer is
a real gRPC server on loopback standing in for the slides service."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc import aio

from common.errors import Unavailable
from micrographia.slides.v1 import slides_pb2 as pb
from micrographia.slides.v1 import slides_pb2_grpc
from services.inference.slide_reader import SlideClient


class StopsMidRegion(slides_pb2_grpc.SlidesServiceServicer):
    """Sends a region's header and half its pixels, then ends (`status`: how)."""

    def __init__(self, status: grpc.StatusCode | None) -> None:
        self.status = status

    async def ReadRegion(self, request, context):
        yield pb.ReadRegionResponse(header=pb.RegionHeader(width=4, height=4, channels=3))
        yield pb.ReadRegionResponse(chunk=bytes(24))
        if self.status is not None:
            await context.abort(self.status, "stopping")


@pytest.mark.parametrize("status", [None, grpc.StatusCode.CANCELLED])
def test_a_region_cut_short_is_the_slides_service_unavailable(status):
    async def read() -> None:
        server = aio.server()
        slides_pb2_grpc.add_SlidesServiceServicer_to_server(StopsMidRegion(status), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                client = SlideClient(lambda: slides_pb2_grpc.SlidesServiceStub(channel), 10)
                await client.read("slide", 0, 0, 0, 4, 4)
        finally:
            await server.stop(0)

    with pytest.raises(Unavailable) as error:
        asyncio.run(read())
    assert error.value.details["dependency"] == "slides"
