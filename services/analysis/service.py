"""The analysis service: data roots, worker threads, its database schema (jobs),
the job runner (which resumes interrupted fitting jobs) and the servicer."""

from __future__ import annotations

from typing import cast

from grpc import aio

from common.db import JOBS_MIGRATIONS, open_service_database
from common.jobs import JobRunner, JobStore
from common.paths import DataRoots
from common.server import GrpcService
from common.workers import Workers
from micrographia.analysis.v1 import analysis_pb2, analysis_pb2_grpc
from services.analysis.fitting_jobs import JOB_TYPE, FittingJobs
from services.analysis.servicer import AnalysisServicer
from services.analysis.settings import AnalysisSettings


class AnalysisService(GrpcService):
    name = "analysis"
    service_names = (analysis_pb2.DESCRIPTOR.services_by_name["AnalysisService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        settings = cast(AnalysisSettings, self.context.server)
        platform = self.context.platform
        try:
            roots = DataRoots(platform.data_roots)
        except ValueError as error:
            raise RuntimeError(f"MICROGRAPHIA_DATA_ROOTS: {error}") from None
        self.workers = Workers(settings.worker_threads, "analysis")
        self.fitting = FittingJobs(roots, self.workers, settings, platform.dask_scheduler)
        self.pool = await open_service_database(platform.database_url, self.name, [JOBS_MIGRATIONS])
        self.jobs = JobRunner(
            JobStore(self.pool),
            resume_handlers={JOB_TYPE: self.fitting.work},
            heartbeat_s=settings.job_heartbeat_s,
            stale_after_s=settings.job_stale_after_s,
        )
        self.fitting.runner = self.jobs
        await self.jobs.start()
        servicer = AnalysisServicer(self.jobs, self.fitting)
        analysis_pb2_grpc.add_AnalysisServiceServicer_to_server(servicer, server)

    async def close(self) -> None:
        await self.jobs.close()
        self.fitting.close()
        self.workers.close(wait=False)
        await self.pool.close()
