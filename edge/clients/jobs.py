"""The job RPCs every job-running service shares (common.proto's GetJob, WatchJob,
CancelJob, ListJobs): each service's typed client is one of these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from edge.backends import NO_DEADLINE, BackendClient, Backends
from micrographia.common.v1 import common_pb2


class JobsClient:
    """Jobs of the service called `service`. Failures are `BackendError`."""

    service = ""

    def __init__(self, backends: Backends, service: str | None = None) -> None:
        self._backends = backends
        self.service = service or self.service

    @property
    def _backend(self) -> BackendClient:
        return self._backends[self.service]  # opened in the app's lifespan

    async def job(self, job_id: str) -> common_pb2.Job:
        backend = self._backend
        request = common_pb2.GetJobRequest(job_id=job_id)
        return (await backend.unary(backend.stub.GetJob, request)).job

    async def watch(
        self, job_id: str, *, timeout: float = NO_DEADLINE
    ) -> AsyncIterator[common_pb2.Job]:
        """The job's record on every change until it ends (no deadline by default: as
        long as the job, or the caller)."""
        backend = self._backend
        request = common_pb2.WatchJobRequest(job_id=job_id)
        async for job in backend.stream(backend.stub.WatchJob, request, timeout=timeout):
            yield job

    async def cancel(self, job_id: str) -> common_pb2.Job:
        backend = self._backend
        request = common_pb2.CancelJobRequest(job_id=job_id)
        return (await backend.unary(backend.stub.CancelJob, request)).job

    async def jobs(
        self,
        *,
        type: str = "",
        statuses: Sequence[int] = (),
        limit: int = 0,
        labels: dict[str, str] | None = None,
    ) -> common_pb2.ListJobsResponse:
        """Jobs newest first; `labels`: only those whose labels include all of these."""
        backend = self._backend
        request = common_pb2.ListJobsRequest(
            type=type, statuses=statuses, limit=limit, labels=labels or {}
        )
        return await backend.unary(backend.stub.ListJobs, request)
