"""The microscopy service: data roots, cached readers, a thread pool for file work,
its database schema (jobs, recent files), the job runner and the servicer."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from grpc import aio

from common.db import JOBS_MIGRATIONS, open_service_database
from common.jobs import JobRunner, JobStore
from common.server import GrpcService
from common.workers import Workers
from micrographia.inference.v1 import inference_pb2_grpc
from micrographia.microscopy.v1 import microscopy_pb2, microscopy_pb2_grpc
from services.microscopy.files import MicroscopyFiles, data_roots
from services.microscopy.recent import RecentFiles
from services.microscopy.servicer import MicroscopyServicer
from services.microscopy.settings import MicroscopySettings
from services.microscopy.shared_memory import SharedMemoryTargets
from services.microscopy.workflows import Workflows

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MicroscopyService(GrpcService):
    name = "microscopy"
    service_names = (microscopy_pb2.DESCRIPTOR.services_by_name["MicroscopyService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        settings = cast(MicroscopySettings, self.context.server)
        # Checked first: a wrong data root stops the service before anything is opened.
        roots = data_roots(self.context.platform.data_roots)
        self.pool = await open_service_database(
            self.context.platform.database_url, self.name, [JOBS_MIGRATIONS, MIGRATIONS]
        )
        self.jobs = JobRunner(
            JobStore(self.pool),
            heartbeat_s=settings.job_heartbeat_s,
            stale_after_s=settings.job_stale_after_s,
        )
        self.files = MicroscopyFiles(roots, settings.reader_cache_size, settings.readers_per_file)
        self.workers = Workers(settings.worker_threads, "microscopy-files")
        # Registers its resume handler before the runner's first sweep for interrupted jobs.
        workflows = Workflows(
            self.jobs,
            self.files,
            self.workers,
            self.context.platform.dask_scheduler,
            inference_address=lambda: self.context.platform.inference_address,
            inference=lambda: inference_pb2_grpc.InferenceServiceStub(
                self.context.channel("inference")
            ),
            unavailable_retry_s=settings.unavailable_retry_s,
        )
        await self.jobs.start()
        recent = (
            RecentFiles(self.pool, settings.recent_files_retention)
            if settings.track_recent_files
            else None
        )
        self.shared_memory = SharedMemoryTargets()
        servicer = MicroscopyServicer(
            self.jobs, self.files, self.workers, recent, workflows, self.shared_memory
        )
        microscopy_pb2_grpc.add_MicroscopyServiceServicer_to_server(servicer, server)

    async def close(self) -> None:
        await self.jobs.close()
        # Not waiting: a read still running past the grace period keeps its reader
        # until it ends (the cache closes it then), and the event loop stays free.
        self.workers.close(wait=False)
        self.files.close()
        self.shared_memory.close()
        await self.pool.close()
