"""The status, progress-stream and cancel routes of a kind of job. PyAMA's
workflow and fitting jobs differ only in their path, backend and status shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from edge.backends import NO_DEADLINE
from edge.dependencies import BackendsDep
from edge.envelope import Envelope, ok
from edge.jobs_json import job_status
from edge.openapi import sse_body
from edge.sse import Event, event_stream
from micrographia.common.v1 import common_pb2

StatusJson = Callable[[common_pb2.Job], dict[str, Any]]


class JobStarted(BaseModel):
    job_id: str
    message: str
    estimated_duration: float


class JobCancelling(BaseModel):
    job_id: str
    status: str  # "cancelling", or the status the job had already reached


class JobError(BaseModel):
    """Why a job failed (a status's `error`; null unless it failed)."""

    code: str
    message: str


JOB_STATUS = Field(description="pending, running, completed, failed or cancelled")


# Bodies in the envelope; a body without a message keeps having no `message` key.
ENVELOPE = {"response_model_exclude_unset": True}
JOB_STARTED = {"response_model": Envelope[JobStarted], **ENVELOPE}


def job_started(response: Any, fallback_message: str) -> dict[str, Any]:
    """The documented answer to starting a job (StartWorkflow, StartFitting)."""
    return ok(
        {
            "job_id": response.job_id,
            "message": response.message or fallback_message,
            "estimated_duration": response.estimated_duration_s,
        }
    )


def add_job_routes(
    router: APIRouter,
    *,
    prefix: str,
    service: str,
    noun: str,
    status_json: StatusJson,
    status_model: type[BaseModel],
) -> None:
    """GET {prefix}/status/{job_id}, GET {prefix}/events/{job_id} (SSE) and
    POST {prefix}/cancel/{job_id}, answered by `service`'s job RPCs;
    `status_model` documents what `status_json` makes."""

    @router.get(
        f"{prefix}/status/{{job_id}}",
        summary=f"Status of a {noun} job",
        response_model=Envelope[status_model],  # type: ignore[valid-type]
        **ENVELOPE,
    )
    async def status(job_id: str, backends: BackendsDep) -> dict[str, Any]:
        response = await backends[service].GetJob(common_pb2.GetJobRequest(job_id=job_id))
        return ok(status_json(response.job), response.job.message)

    @router.get(
        f"{prefix}/events/{{job_id}}",
        summary=f"Progress of a {noun} job as SSE",
        response_class=StreamingResponse,
        responses=sse_body({"progress": {"$ref": f"#/components/schemas/{status_model.__name__}"}}),
    )
    async def events(job_id: str, request: Request, backends: BackendsDep):
        async def progress() -> AsyncIterator[Event]:
            # No deadline: the stream lives as long as the job (or the client).
            watch = common_pb2.WatchJobRequest(job_id=job_id)
            async for job in backends[service].WatchJob(watch, timeout=NO_DEADLINE):
                yield "progress", status_json(job)

        keepalive_s = backends.settings.sse_keepalive_s
        return await event_stream(progress(), keepalive_s, request=request)

    @router.post(
        f"{prefix}/cancel/{{job_id}}",
        summary=f"Cancel a {noun} job",
        response_model=Envelope[JobCancelling],
        **ENVELOPE,
    )
    async def cancel(job_id: str, backends: BackendsDep) -> dict[str, Any]:
        response = await backends[service].CancelJob(common_pb2.CancelJobRequest(job_id=job_id))
        state = job_status(response.job)
        return ok(
            {"job_id": job_id, "status": "cancelling" if state == "running" else state},
            f"{noun.capitalize()} cancellation requested",
        )
