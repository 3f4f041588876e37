"""/api/slide-analysis: whole-slide analysis as a job (tissue regions segmented over
every inference replica, stored as they complete), its status, live progress
(SSE), regions and cancel. The paths follow the other jobs' (`start`,
`status/{job_id}`, `events/{job_id}`, `cancel/{job_id}`), the bodies Slidekick's
style (plain JSON, no envelope). The job is the spatial service's; the edge only
shapes its record.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from edge.backends import NO_DEADLINE, Backends
from edge.dependencies import BackendsDep
from edge.errors import BackendError
from edge.fields import Int32, Int64, RequestModel
from edge.jobs_json import job_json
from edge.openapi import proto_body, sse_body
from edge.protojson import to_json
from edge.routes.job_routes import JOB_STATUS, JobError
from edge.routes.spatial import box_json
from edge.sse import Event, event_stream
from micrographia.common.v1 import common_pb2
from micrographia.spatial.v1 import spatial_pb2 as pb

router = APIRouter(prefix="/api/slide-analysis", tags=["slide analysis"])

JOB_TYPE = "slide_analysis"
TERMINAL = {"completed", "failed", "cancelled"}


class SlideAnalysisBody(RequestModel):
    slide_id: uuid.UUID
    label: str = Field("", max_length=200, description='Label of the box; empty: "Whole slide N"')
    region_size: Int64 = Field(
        0, ge=0, description="Edge of one region in level-0 pixels; 0: the service's default"
    )


class SlideAnalysisProgress(BaseModel):
    regions_done: int
    regions_total: int
    nuclei: int = Field(description="Nuclei stored so far")
    mm2_done: float = Field(description="Tissue area analysed, mm^2 (0 without MPP)")
    mm2_total: float = Field(description="Tissue area to analyse, mm^2 (0 without MPP)")
    percentage: float
    estimated_remaining: float | None = Field(description="Seconds left; null while unknown")


class SlideAnalysisStatus(BaseModel):
    job_id: str
    slide_id: str
    box_id: str = Field(description="The analysis box the nuclei are stored in")
    status: str = JOB_STATUS
    progress: SlideAnalysisProgress
    message: str
    error: JobError | None
    cancel_requested: bool
    created_at: str | None
    started_at: str | None
    updated_at: str | None
    finished_at: str | None


class SlideAnalysisStarted(BaseModel):
    job_id: str
    box_id: str
    regions: int = Field(description="Regions holding tissue, to be segmented")
    tissue_mm2: float = Field(description="Their area, mm^2 (0 without MPP)")
    message: str
    estimated_duration: float = Field(description="Rough estimate, seconds")
    status: SlideAnalysisStatus


class SlideAnalysisList(BaseModel):
    analyses: list[SlideAnalysisStatus] = Field(description="Newest first")
    total: int = Field(description="Analyses that matched")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# The last event of a progress stream: the final status and the box.
COMPLETE_EVENT = {
    "title": "SlideAnalysisComplete",
    "type": "object",
    "properties": {
        "type": {"const": "complete"},
        "status": _ref("SlideAnalysisStatus"),
        "box": {
            "anyOf": [_ref("AnalysisBoxOut"), {"type": "null"}],
            "description": "The stored box; null if it was deleted",
        },
    },
    "required": ["type", "status", "box"],
}


def slide_analysis_json(job: common_pb2.Job) -> dict[str, Any]:
    """A slide-analysis job as `SlideAnalysisStatus`: regions, nuclei, mm^2, ETA."""
    record = job_json(job)
    counters = dict(job.progress.counters)
    progress = job.progress
    return {
        "job_id": job.id,
        "slide_id": job.labels.get("slide_id", ""),
        "box_id": job.labels.get("box_id", ""),
        "status": record["status"],
        "progress": {
            "regions_done": progress.current,
            "regions_total": progress.total,
            "nuclei": int(counters.get("nuclei", 0)),
            "mm2_done": counters.get("mm2_done", 0.0),
            "mm2_total": counters.get("mm2_total", 0.0),
            "percentage": progress.percentage,
            "estimated_remaining": record["progress"]["estimated_remaining"],
        },
        "message": job.message,
        "error": record["error"],
        "cancel_requested": job.cancel_requested,
        "created_at": record["created_at"],
        "started_at": record["started_at"],
        "updated_at": record["updated_at"],
        "finished_at": record["finished_at"],
    }


async def get_slide_analysis(backends: Backends, job_id: str) -> common_pb2.Job:
    """The job, which must be a slide analysis (another service's job id is a 404)."""
    response = await backends.spatial.GetJob(common_pb2.GetJobRequest(job_id=job_id))
    return response.job


async def analysis_box(backends: Backends, box_id: str) -> dict[str, Any] | None:
    """The box's JSON; None once it was deleted."""
    try:
        response = await backends.spatial.GetAnalysisBox(pb.GetAnalysisBoxRequest(box_id=box_id))
    except BackendError as error:
        if error.failure.grpc_code is grpc.StatusCode.NOT_FOUND:
            return None
        raise
    return box_json(response.box)


async def follow(backends: Backends, job_id: str) -> AsyncIterator[common_pb2.Job]:
    """The job's record on every change until it ends (no deadline: as long as the job)."""
    watch = common_pb2.WatchJobRequest(job_id=job_id)
    async for job in backends.spatial.WatchJob(watch, timeout=NO_DEADLINE):
        yield job


@router.post(
    "/start",
    summary="Analyse a slide's whole tissue as a job",
    status_code=202,
    response_model=SlideAnalysisStarted,
)
async def start(body: SlideAnalysisBody, backends: BackendsDep) -> dict[str, Any]:
    """Finds the tissue on a low-resolution level, cuts it into regions and segments
    them over every inference replica at once; each region's nuclei are stored in one
    analysis box as it completes. Follow it at `/api/slide-analysis/events/{job_id}`."""
    request = pb.StartSlideAnalysisRequest(
        slide_id=str(body.slide_id), label=body.label, region_size=body.region_size
    )
    response = await backends.spatial.StartSlideAnalysis(request)
    return {
        "job_id": response.job_id,
        "box_id": response.box_id,
        "regions": response.regions,
        "tissue_mm2": response.tissue_mm2,
        "message": response.message,
        "estimated_duration": response.estimated_duration_s,
        "status": slide_analysis_json(response.job),
    }


@router.get(
    "/jobs",
    summary="Whole-slide analyses, newest first",
    response_model=SlideAnalysisList,
)
async def list_analyses(
    backends: BackendsDep,
    slide_id: Annotated[uuid.UUID | None, Query(description="Only this slide's analyses")] = None,
    active: Annotated[bool, Query(description="Only pending or running analyses")] = False,
    limit: Annotated[Int32, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    statuses = [common_pb2.JOB_STATUS_PENDING, common_pb2.JOB_STATUS_RUNNING] if active else []
    # The slide filter is the edge's (jobs are listed by type and status), so ask
    # for the service's maximum and cut to `limit` after filtering.
    request = common_pb2.ListJobsRequest(
        type=JOB_TYPE, statuses=statuses, limit=1000 if slide_id else limit
    )
    response = await backends.spatial.ListJobs(request)
    analyses = [
        slide_analysis_json(job)
        for job in response.jobs
        if slide_id is None or job.labels.get("slide_id") == str(slide_id)
    ]
    return {"analyses": analyses[:limit], "total": len(analyses) if slide_id else response.total}


@router.get(
    "/status/{job_id}",
    summary="Status and progress of a whole-slide analysis",
    response_model=SlideAnalysisStatus,
)
async def status(job_id: str, backends: BackendsDep) -> dict[str, Any]:
    return slide_analysis_json(await get_slide_analysis(backends, job_id))


@router.get(
    "/events/{job_id}",
    summary="Progress of a whole-slide analysis as SSE",
    response_class=StreamingResponse,
    responses=sse_body({"progress": _ref("SlideAnalysisStatus"), "complete": COMPLETE_EVENT}),
)
async def events(job_id: str, request: Request, backends: BackendsDep):
    """`progress` with the status on every change (regions, nuclei, mm^2, ETA), the
    last one completed, failed or cancelled; then `complete` with it and the box."""

    async def progress() -> AsyncIterator[Event]:
        last: dict[str, Any] | None = None
        async for job in follow(backends, job_id):
            last = slide_analysis_json(job)
            yield "progress", last
            if last["status"] in TERMINAL:
                break
        if last is not None:
            box = await analysis_box(backends, last["box_id"]) if last["box_id"] else None
            yield "complete", {"type": "complete", "status": last, "box": box}

    keepalive_s = backends.settings.sse_keepalive_s
    return await event_stream(progress(), keepalive_s, request=request)


@router.get(
    "/regions/{job_id}",
    summary="The regions of a whole-slide analysis and which are stored",
    response_model=None,
    responses=proto_body(pb.ListSlideAnalysisRegionsResponse),
)
async def regions(job_id: str, backends: BackendsDep) -> dict[str, Any]:
    request = pb.ListSlideAnalysisRegionsRequest(job_id=job_id)
    return to_json(await backends.spatial.ListSlideAnalysisRegions(request))


@router.post(
    "/cancel/{job_id}",
    summary="Cancel a whole-slide analysis (stored regions stay)",
    response_model=SlideAnalysisStatus,
)
async def cancel(job_id: str, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.spatial.CancelJob(common_pb2.CancelJobRequest(job_id=job_id))
    return slide_analysis_json(response.job)
