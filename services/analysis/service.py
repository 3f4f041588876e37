"""The analysis service: its database schema, job runner and servicer."""

from __future__ import annotations

from pathlib import Path

from grpc import aio

from common.db import JOBS_MIGRATIONS, open_service_database
from common.jobs import JobRunner, JobStore
from common.server import GrpcService
from micrographia.analysis.v1 import analysis_pb2, analysis_pb2_grpc
from services.analysis.servicer import AnalysisServicer

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class AnalysisService(GrpcService):
    name = "analysis"
    service_names = (analysis_pb2.DESCRIPTOR.services_by_name["AnalysisService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        self.pool = await open_service_database(
            self.context.platform.database_url, self.name, [JOBS_MIGRATIONS, MIGRATIONS]
        )
        self.jobs = JobRunner(JobStore(self.pool))
        await self.jobs.start()
        analysis_pb2_grpc.add_AnalysisServiceServicer_to_server(AnalysisServicer(self.jobs), server)

    async def close(self) -> None:
        await self.jobs.close()
        await self.pool.close()
