"""Jobs as JSON, shared by the typed clients, the REST routes and the MCP tools."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from edge.protojson import enum_to_json, timestamp_to_json
from micrographia.common.v1 import common_pb2

TERMINAL = {"completed", "failed", "cancelled"}

JOB_STATUS = Field(description="pending, running, completed, failed or cancelled")


class JobStarted(BaseModel):
    job_id: str
    message: str
    estimated_duration: float

    @classmethod
    def of(cls, response: Any) -> JobStarted:
        """From a Start* RPC's answer (job_id, message, estimated_duration_s)."""
        return cls(
            job_id=response.job_id,
            message=response.message,
            estimated_duration=response.estimated_duration_s,
        )


class JobCancelling(BaseModel):
    job_id: str
    status: str  # "cancelling", or the status the job had already reached


class JobError(BaseModel):
    """Why a job failed (a status's `error`; null unless it failed)."""

    code: str
    message: str


def _time(job: common_pb2.Job, field: str) -> str | None:
    return timestamp_to_json(getattr(job, field)) if job.HasField(field) else None


def job_status(job: common_pb2.Job) -> str:
    return enum_to_json(common_pb2.JobStatus.DESCRIPTOR, job.status)


def job_json(job: common_pb2.Job) -> dict[str, Any]:
    """The whole job record: id, status, progress, error and timestamps."""
    progress = job.progress
    return {
        "id": job.id,
        "job_id": job.id,
        "type": job.type,
        "service": job.service,
        "status": job_status(job),
        "message": job.message,
        "progress": {
            "current": progress.current,
            "total": progress.total,
            "percentage": progress.percentage,
            "current_step": progress.current_step or None,
            "steps_completed": list(progress.steps_completed),
            "estimated_remaining": (
                progress.estimated_remaining_s
                if progress.HasField("estimated_remaining_s")
                else None
            ),
            **dict(progress.counters),
        },
        "error": (
            {"code": job.error.code, "message": job.error.message}
            if job.HasField("error")
            else None
        ),
        "cancel_requested": job.cancel_requested,
        "labels": dict(job.labels),
        "created_at": _time(job, "created_at"),
        "started_at": _time(job, "started_at"),
        "updated_at": _time(job, "updated_at"),
        "finished_at": _time(job, "finished_at"),
    }


def job_result(job: common_pb2.Job) -> Any:
    """What a completed job produced (its service's shape), or None before."""
    return json.loads(job.result_json) if job.result_json else None
