"""/api/slide-analysis: whole-slide analysis as a job (tissue regions segmented over
every inference replica, stored as they complete), its status, live progress
(SSE), regions and cancel. The paths follow the other jobs' (`start`,
`status/{job_id}`, `events/{job_id}`, `cancel/{job_id}`), the bodies Slidekick's
style (plain JSON, no envelope). The job is the spatial service's; `SpatialClient`
shapes its record, these routes only serve it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from edge.clients.spatial import (
    SlideAnalysisBody,
    SlideAnalysisList,
    SlideAnalysisStarted,
    SlideAnalysisStatus,
    slide_analysis_json,
)
from edge.dependencies import ClientsDep
from edge.fields import Int32
from edge.jobs_json import TERMINAL
from edge.openapi import proto_body, sse_body
from edge.sse import Event, event_stream
from micrographia.spatial.v1 import spatial_pb2 as pb

router = APIRouter(prefix="/api/slide-analysis", tags=["slide analysis"])


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


@router.post(
    "/start",
    summary="Analyse a slide's whole tissue as a job",
    status_code=202,
    response_model=SlideAnalysisStarted,
)
async def start(body: SlideAnalysisBody, clients: ClientsDep) -> dict[str, Any]:
    """Finds the tissue on a low-resolution level, cuts it into regions and segments
    them over every inference replica at once; each region's nuclei are stored in one
    analysis box as it completes. Follow it at `/api/slide-analysis/events/{job_id}`."""
    return await clients.spatial.start_slide_analysis(body)


@router.get(
    "/jobs",
    summary="Whole-slide analyses, newest first",
    response_model=SlideAnalysisList,
)
async def list_analyses(
    clients: ClientsDep,
    slide_id: Annotated[uuid.UUID | None, Query(description="Only this slide's analyses")] = None,
    active: Annotated[bool, Query(description="Only pending or running analyses")] = False,
    limit: Annotated[Int32, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return await clients.spatial.slide_analyses(slide_id, active, limit)


@router.get(
    "/status/{job_id}",
    summary="Status and progress of a whole-slide analysis",
    response_model=SlideAnalysisStatus,
)
async def status(job_id: str, clients: ClientsDep) -> dict[str, Any]:
    return slide_analysis_json(await clients.spatial.job(job_id))


@router.get(
    "/events/{job_id}",
    summary="Progress of a whole-slide analysis as SSE",
    response_class=StreamingResponse,
    responses=sse_body({"progress": _ref("SlideAnalysisStatus"), "complete": COMPLETE_EVENT}),
)
async def events(job_id: str, request: Request, clients: ClientsDep):
    """`progress` with the status on every change (regions, nuclei, mm^2, ETA), the
    last one completed, failed or cancelled; then `complete` with it and the box."""
    spatial = clients.spatial

    async def progress() -> AsyncIterator[Event]:
        last: dict[str, Any] | None = None
        async for job in spatial.watch(job_id):
            last = slide_analysis_json(job)
            yield "progress", last
            if last["status"] in TERMINAL:
                break
        if last is not None:
            box = await spatial.box_or_none(last["box_id"]) if last["box_id"] else None
            yield "complete", {"type": "complete", "status": last, "box": box}

    keepalive_s = clients.settings.sse_keepalive_s
    return await event_stream(progress(), keepalive_s, request=request)


@router.get(
    "/regions/{job_id}",
    summary="The regions of a whole-slide analysis and which are stored",
    response_model=None,
    responses=proto_body(pb.ListSlideAnalysisRegionsResponse),
)
async def regions(job_id: str, clients: ClientsDep) -> dict[str, Any]:
    return await clients.spatial.slide_analysis_regions(job_id)


@router.post(
    "/cancel/{job_id}",
    summary="Cancel a whole-slide analysis (stored regions stay)",
    response_model=SlideAnalysisStatus,
)
async def cancel(job_id: str, clients: ClientsDep) -> dict[str, Any]:
    return slide_analysis_json(await clients.spatial.cancel(job_id))
