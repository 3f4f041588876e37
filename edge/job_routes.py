"""The status, progress-stream and cancel routes of a kind of job. PyAMA's
workflow and fitting jobs differ only in their path, backend and status shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from edge.clients import Clients, JobsClient
from edge.dependencies import ClientsDep
from edge.envelope import Envelope, ok
from edge.jobs_json import JobCancelling, JobStarted, job_status
from edge.openapi import sse_body
from edge.sse import Event, event_stream
from micrographia.common.v1 import common_pb2

StatusJson = Callable[[common_pb2.Job], dict[str, Any]]


# Bodies in the envelope; a body without a message keeps having no `message` key.
ENVELOPE = {"response_model_exclude_unset": True}
JOB_STARTED = {"response_model": Envelope[JobStarted], **ENVELOPE}


def job_started(started: JobStarted, fallback_message: str) -> dict[str, Any]:
    """The documented answer to starting a job (StartWorkflow, StartFitting)."""
    return ok(
        {
            "job_id": started.job_id,
            "message": started.message or fallback_message,
            "estimated_duration": started.estimated_duration,
        }
    )


def add_job_routes(
    router: APIRouter,
    *,
    prefix: str,
    jobs: Callable[[Clients], JobsClient],
    noun: str,
    status_json: StatusJson,
    status_model: type[BaseModel],
) -> None:
    """GET {prefix}/status/{job_id}, GET {prefix}/events/{job_id} (SSE) and
    POST {prefix}/cancel/{job_id}, answered by the `jobs` client of `clients`;
    `status_model` documents what `status_json` makes."""

    @router.get(
        f"{prefix}/status/{{job_id}}",
        summary=f"Status of a {noun} job",
        response_model=Envelope[status_model],  # type: ignore[valid-type]
        **ENVELOPE,
    )
    async def status(job_id: str, clients: ClientsDep) -> dict[str, Any]:
        job = await jobs(clients).job(job_id)
        return ok(status_json(job), job.message)

    @router.get(
        f"{prefix}/events/{{job_id}}",
        summary=f"Progress of a {noun} job as SSE",
        response_class=StreamingResponse,
        responses=sse_body({"progress": {"$ref": f"#/components/schemas/{status_model.__name__}"}}),
    )
    async def events(job_id: str, request: Request, clients: ClientsDep):
        async def progress() -> AsyncIterator[Event]:
            # No deadline: the stream lives as long as the job (or the client).
            async for job in jobs(clients).watch(job_id):
                yield "progress", status_json(job)

        keepalive_s = clients.settings.sse_keepalive_s
        return await event_stream(progress(), keepalive_s, request=request)

    @router.post(
        f"{prefix}/cancel/{{job_id}}",
        summary=f"Cancel a {noun} job",
        response_model=Envelope[JobCancelling],
        **ENVELOPE,
    )
    async def cancel(job_id: str, clients: ClientsDep) -> dict[str, Any]:
        state = job_status(await jobs(clients).cancel(job_id))
        return ok(
            {"job_id": job_id, "status": "cancelling" if state == "running" else state},
            f"{noun.capitalize()} cancellation requested",
        )
