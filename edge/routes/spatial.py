"""/api/inference, /api/roi, /api/boxes: viewport analysis with live progress,
spatial statistics and analysis boxes (slidekick-api.md)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge.dependencies import BackendsDep
from edge.protojson import timestamp_to_json, to_json
from edge.sse import Event, event_stream
from micrographia.spatial.v1 import spatial_pb2 as pb

inference_router = APIRouter(prefix="/api/inference", tags=["inference"])
roi_router = APIRouter(prefix="/api/roi", tags=["roi"])
boxes_router = APIRouter(prefix="/api/boxes", tags=["boxes"])


class ViewportBody(BaseModel):
    slide_id: uuid.UUID
    x: float = Field(description="Top-left X in level-0 pixels")
    y: float = Field(description="Top-left Y in level-0 pixels")
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    level: int = Field(0, ge=0)


class RoiStatsBody(BaseModel):
    slide_id: uuid.UUID
    x_min: float
    y_min: float
    x_max: float
    y_max: float


def _bounds_json(bounds: pb.Bounds) -> dict[str, float]:
    return {
        "x_min": bounds.x_min,
        "y_min": bounds.y_min,
        "x_max": bounds.x_max,
        "y_max": bounds.y_max,
    }


def box_json(box: pb.AnalysisBox) -> dict[str, Any]:
    return {
        "id": box.id,
        "slide_id": box.slide_id,
        "label": box.label,
        **_bounds_json(box.bounds),
        "total_nuclei": box.total_nuclei,
        "area_mm2": box.area_mm2,
        "density_per_mm2": box.density_per_mm2,
        "neoplastic_ratio": box.neoplastic_ratio,
        "cell_type_counts": {
            str(item.cell_type): {"count": item.count, "name": item.cell_type_name}
            for item in box.cell_type_counts
        },
        "created_at": timestamp_to_json(box.created_at) if box.HasField("created_at") else None,
    }


def _breakdown(items) -> list[dict[str, Any]]:
    return [to_json(item) for item in items]


@inference_router.post("/viewport-stream", summary="Segment a viewport with live SSE progress")
async def viewport_stream(body: ViewportBody, http_request: Request, backends: BackendsDep):
    request = pb.AnalyzeViewportRequest(
        slide_id=str(body.slide_id),
        x=body.x,
        y=body.y,
        width=body.width,
        height=body.height,
        level=body.level,
    )

    async def events() -> AsyncIterator[Event]:
        stream = backends.spatial.AnalyzeViewport(
            request, timeout=backends.settings.stream_timeout_s
        )
        async for message in stream:
            if message.HasField("progress"):
                yield "progress", {"type": "progress", **to_json(message.progress)}
            elif message.HasField("complete"):
                complete = message.complete
                yield (
                    "complete",
                    {
                        "type": "complete",
                        "box": box_json(complete.box),
                        "nuclei": [to_json(nucleus) for nucleus in complete.nuclei],
                        "count": complete.count,
                    },
                )

    keepalive_s = backends.settings.sse_keepalive_s
    return await event_stream(events(), keepalive_s, request=http_request)


@roi_router.post("/stats", summary="Spatial statistics of a rectangle")
async def roi_stats(body: RoiStatsBody, backends: BackendsDep) -> dict[str, Any]:
    bounds = pb.Bounds(x_min=body.x_min, y_min=body.y_min, x_max=body.x_max, y_max=body.y_max)
    response = await backends.spatial.GetRoiStats(
        pb.GetRoiStatsRequest(slide_id=str(body.slide_id), bounds=bounds)
    )
    data = to_json(response)
    data["bounds_l0"] = _bounds_json(response.bounds_l0)
    return data


@roi_router.post("/nuclei", summary="Stored nuclei in a viewport (no inference)")
async def roi_nuclei(body: ViewportBody, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.spatial.ListNucleiInViewport(
        pb.ListNucleiInViewportRequest(
            slide_id=str(body.slide_id),
            x=body.x,
            y=body.y,
            width=body.width,
            height=body.height,
            level=body.level,
        )
    )
    return to_json(response)


@boxes_router.get("/{slide_id}", summary="A slide's analysis boxes, newest first")
async def list_boxes(slide_id: uuid.UUID, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.spatial.ListAnalysisBoxes(
        pb.ListAnalysisBoxesRequest(slide_id=str(slide_id))
    )
    return {"slide_id": response.slide_id, "boxes": [box_json(box) for box in response.boxes]}


@boxes_router.get("/detail/{box_id}", summary="One box with its derived clinical metrics")
async def box_detail(box_id: uuid.UUID, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.spatial.GetAnalysisBox(pb.GetAnalysisBoxRequest(box_id=str(box_id)))
    return {
        **box_json(response.box),
        "cell_type_breakdown": _breakdown(response.box.cell_type_counts),
        **to_json(response.metrics),
    }


@boxes_router.delete("/{box_id}", status_code=204, summary="Delete a box and its nuclei")
async def delete_box(box_id: uuid.UUID, backends: BackendsDep) -> Response:
    await backends.spatial.DeleteAnalysisBox(pb.DeleteAnalysisBoxRequest(box_id=str(box_id)))
    return Response(status_code=204)
