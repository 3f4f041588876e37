"""The slides service."""

from __future__ import annotations

from grpc import aio

from common.server import GrpcService
from micrographia.slides.v1 import slides_pb2, slides_pb2_grpc
from services.slides.servicer import SlidesServicer


class SlidesService(GrpcService):
    name = "slides"
    service_names = (slides_pb2.DESCRIPTOR.services_by_name["SlidesService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        slides_pb2_grpc.add_SlidesServiceServicer_to_server(SlidesServicer(), server)
