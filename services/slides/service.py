"""The slides service: slide files and their registry, Deep Zoom, thumbnails, regions."""

from __future__ import annotations

import logging
from pathlib import Path

from grpc import aio

from common.db import open_service_database
from common.server import GrpcService
from common.workers import Workers
from micrographia.slides.v1 import slides_pb2, slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2_grpc
from services.slides.core import SlideLibrary
from services.slides.core.registry import SlideRegistry
from services.slides.servicer import SlidesServicer
from services.slides.settings import SlidesSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

logger = logging.getLogger("micrographia.slides")


class SlidesService(GrpcService):
    name = "slides"
    service_names = (slides_pb2.DESCRIPTOR.services_by_name["SlidesService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        settings: SlidesSettings = self.context.server  # type: ignore[assignment]
        # The folder first: a slides dir that cannot be created fails before the database opens.
        self.library = SlideLibrary(settings.core_config(self.context.platform.slides_dir))
        self.workers = Workers(settings.worker_threads, "slides")
        self.pool = await open_service_database(
            self.context.platform.database_url, self.name, [MIGRATIONS]
        )
        swept = await self.workers.run(self.library.store.sweep_unowned_uploads)
        if swept:
            logger.info("removed %d uploads a crash left behind", swept)
        servicer = SlidesServicer(
            self.library,
            SlideRegistry(self.pool),
            self.workers,
            lambda: spatial_pb2_grpc.SpatialServiceStub(self.context.channel("spatial")),
            settings.peer_timeout_s,
        )
        slides_pb2_grpc.add_SlidesServiceServicer_to_server(servicer, server)

    async def close(self) -> None:
        self.workers.close()
        self.library.close()
        await self.pool.close()
