"""The spatial service: analysis boxes and nuclei in PostGIS."""

from __future__ import annotations

from pathlib import Path

from grpc import aio

from common.db import open_service_database
from common.server import GrpcService
from micrographia.spatial.v1 import spatial_pb2, spatial_pb2_grpc
from services.spatial.servicer import SpatialServicer

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SpatialService(GrpcService):
    name = "spatial"
    service_names = (spatial_pb2.DESCRIPTOR.services_by_name["SpatialService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        self.pool = await open_service_database(
            self.context.platform.database_url, self.name, [MIGRATIONS]
        )
        spatial_pb2_grpc.add_SpatialServiceServicer_to_server(SpatialServicer(), server)

    async def close(self) -> None:
        await self.pool.close()
