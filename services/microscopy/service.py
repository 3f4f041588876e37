"""The microscopy service: its database schema, job runner and servicer."""

from __future__ import annotations

from pathlib import Path

from grpc import aio

from common.db import JOBS_MIGRATIONS, open_service_database
from common.jobs import JobRunner, JobStore
from common.server import GrpcService
from micrographia.microscopy.v1 import microscopy_pb2, microscopy_pb2_grpc
from services.microscopy.servicer import MicroscopyServicer

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MicroscopyService(GrpcService):
    name = "microscopy"
    service_names = (microscopy_pb2.DESCRIPTOR.services_by_name["MicroscopyService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        self.pool = await open_service_database(
            self.context.platform.database_url, self.name, [JOBS_MIGRATIONS, MIGRATIONS]
        )
        self.jobs = JobRunner(JobStore(self.pool))
        await self.jobs.start()
        microscopy_pb2_grpc.add_MicroscopyServiceServicer_to_server(
            MicroscopyServicer(self.jobs), server
        )

    async def close(self) -> None:
        await self.jobs.close()
        await self.pool.close()
