"""The spatial service: analysis boxes and nuclei in PostGIS."""

from __future__ import annotations

from pathlib import Path

from grpc import aio

from common.db import open_service_database
from common.server import GrpcService
from micrographia.inference.v1 import inference_pb2_grpc
from micrographia.slides.v1 import slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2, spatial_pb2_grpc
from services.spatial.core import SpatialStore, register_geometry_codec
from services.spatial.servicer import SpatialServicer
from services.spatial.settings import SpatialSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SpatialService(GrpcService):
    name = "spatial"
    service_names = (spatial_pb2.DESCRIPTOR.services_by_name["SpatialService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        settings: SpatialSettings = self.context.server  # type: ignore[assignment]
        self.pool = await open_service_database(
            self.context.platform.database_url,
            self.name,
            [MIGRATIONS],
            init=register_geometry_codec,
        )
        servicer = SpatialServicer(
            SpatialStore(self.pool),
            lambda: slides_pb2_grpc.SlidesServiceStub(self.context.channel("slides")),
            lambda: inference_pb2_grpc.InferenceServiceStub(self.context.channel("inference")),
            settings,
        )
        spatial_pb2_grpc.add_SpatialServiceServicer_to_server(servicer, server)

    async def close(self) -> None:
        await self.pool.close()
