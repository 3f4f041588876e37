"""Jobs over gRPC: record <-> proto, and the four job RPCs every job-owning
service exposes (GetJob, ListJobs, CancelJob, WatchJob), written once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from grpc import aio

from common.jobs.model import JobRecord, JobStatus
from common.jobs.runner import JobRunner
from micrographia.common.v1 import common_pb2

_STATUS_TO_PROTO = {
    JobStatus.PENDING: common_pb2.JOB_STATUS_PENDING,
    JobStatus.RUNNING: common_pb2.JOB_STATUS_RUNNING,
    JobStatus.COMPLETED: common_pb2.JOB_STATUS_COMPLETED,
    JobStatus.FAILED: common_pb2.JOB_STATUS_FAILED,
    JobStatus.CANCELLED: common_pb2.JOB_STATUS_CANCELLED,
}
_STATUS_FROM_PROTO = {value: key for key, value in _STATUS_TO_PROTO.items()}


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def job_to_proto(job: JobRecord, service: str) -> common_pb2.Job:
    progress = job.progress
    message = common_pb2.Job(
        id=job.id,
        type=job.type,
        status=_STATUS_TO_PROTO[job.status],
        progress=common_pb2.JobProgress(
            current=progress.current,
            total=progress.total,
            percentage=progress.percentage,
            current_step=progress.current_step,
            steps_completed=progress.steps_completed,
            estimated_remaining_s=progress.estimated_remaining_s,
            counters=progress.counters,
        ),
        message=job.message,
        created_at=timestamp(job.created_at),
        started_at=timestamp(job.started_at),
        updated_at=timestamp(job.updated_at),
        finished_at=timestamp(job.finished_at),
        cancel_requested=job.cancel_requested,
        labels={key: str(value) for key, value in job.labels.items()},
        service=service,
        result_json="" if job.result is None else json.dumps(job.result, separators=(",", ":")),
    )
    if job.error_code or job.error_message:
        message.error.CopyFrom(
            common_pb2.JobError(code=job.error_code or "", message=job.error_message or "")
        )
    return message


class JobsServicerMixin:
    """GetJob / ListJobs / CancelJob / WatchJob over a `JobRunner`.

    A servicer mixes this in and sets `jobs` (the runner) and `service_name`.
    """

    jobs: JobRunner
    service_name: str

    async def GetJob(self, request: common_pb2.GetJobRequest, context: aio.ServicerContext):
        job = await self.jobs.store.get(request.job_id)
        return common_pb2.GetJobResponse(job=job_to_proto(job, self.service_name))

    async def ListJobs(self, request: common_pb2.ListJobsRequest, context: aio.ServicerContext):
        statuses = [_STATUS_FROM_PROTO[s] for s in request.statuses if s in _STATUS_FROM_PROTO]
        limit = request.limit if request.limit > 0 else 100
        jobs, total = await self.jobs.store.list(
            statuses, request.type or None, min(limit, 1000), labels=dict(request.labels)
        )
        counts = await self.jobs.store.counts()
        return common_pb2.ListJobsResponse(
            jobs=[job_to_proto(job, self.service_name) for job in jobs],
            total=total,
            counts=common_pb2.JobCounts(
                pending=counts.pending,
                running=counts.running,
                completed_today=counts.completed_today,
                failed_today=counts.failed_today,
                cancelled_today=counts.cancelled_today,
            ),
        )

    async def CancelJob(self, request: common_pb2.CancelJobRequest, context: aio.ServicerContext):
        job = await self.jobs.cancel(request.job_id)
        return common_pb2.CancelJobResponse(job=job_to_proto(job, self.service_name))

    async def WatchJob(
        self, request: common_pb2.WatchJobRequest, context: aio.ServicerContext
    ) -> AsyncIterator[common_pb2.Job]:
        async for job in self.jobs.store.watch(request.job_id):
            yield job_to_proto(job, self.service_name)
