"""The spatial service: analysis boxes and nuclei in PostGIS, and the
whole-slide analysis jobs (its schema holds their records; interrupted ones resume)."""

from __future__ import annotations

from pathlib import Path

from grpc import aio

from common.db import JOBS_MIGRATIONS, open_service_database
from common.jobs import JobRunner, JobStore
from common.server import GrpcService
from micrographia.inference.v1 import inference_pb2_grpc
from micrographia.slides.v1 import slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2, spatial_pb2_grpc
from services.spatial.core import SpatialStore, register_geometry_codec
from services.spatial.servicer import SpatialServicer
from services.spatial.settings import SpatialSettings
from services.spatial.slide_analysis import JOB_TYPE, SlideAnalysisJobs

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SpatialService(GrpcService):
    name = "spatial"
    service_names = (spatial_pb2.DESCRIPTOR.services_by_name["SpatialService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        settings: SpatialSettings = self.context.server  # type: ignore[assignment]
        self.pool = await open_service_database(
            self.context.platform.database_url,
            self.name,
            [JOBS_MIGRATIONS, MIGRATIONS],
            init=register_geometry_codec,
        )
        store = SpatialStore(self.pool)

        # Factories: a peer's channel opens on first use, once its address is known.
        def slides() -> slides_pb2_grpc.SlidesServiceStub:
            return slides_pb2_grpc.SlidesServiceStub(self.context.channel("slides"))

        def inference() -> inference_pb2_grpc.InferenceServiceStub:
            return inference_pb2_grpc.InferenceServiceStub(self.context.channel("inference"))

        self.slide_analyses = SlideAnalysisJobs(store, slides, inference, settings)
        # Whole-slide analyses interrupted by a stopped process resume here.
        self.jobs = JobRunner(
            JobStore(self.pool),
            resume_handlers={JOB_TYPE: self.slide_analyses.work},
            heartbeat_s=settings.job_heartbeat_s,
            stale_after_s=settings.job_stale_after_s,
        )
        self.slide_analyses.runner = self.jobs
        self.jobs.add_unstarted_cancel_handler(JOB_TYPE, self.slide_analyses.forget_box)
        await self.jobs.start()
        servicer = SpatialServicer(
            store, slides, inference, settings, self.jobs, self.slide_analyses
        )
        spatial_pb2_grpc.add_SpatialServiceServicer_to_server(servicer, server)

    async def close(self) -> None:
        await self.jobs.close()
        await self.pool.close()
