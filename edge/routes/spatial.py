"""/api/inference, /api/roi, /api/boxes: viewport analysis with live progress,
spatial statistics, analysis boxes and QuPath exports (slidekick-api.md)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from edge.backends import NO_DEADLINE
from edge.dependencies import BackendsDep
from edge.fields import Int32, RequestModel
from edge.openapi import sse_body
from edge.protojson import json_schema, timestamp_to_json, to_json
from edge.sse import Event, event_stream
from micrographia.spatial.v1 import spatial_pb2 as pb

inference_router = APIRouter(prefix="/api/inference", tags=["inference"])
roi_router = APIRouter(prefix="/api/roi", tags=["roi"])
boxes_router = APIRouter(prefix="/api/boxes", tags=["boxes"])

GEOJSON = "application/geo+json"


class ViewportBody(RequestModel):
    slide_id: uuid.UUID
    x: float = Field(description="Top-left X in level-0 pixels")
    y: float = Field(description="Top-left Y in level-0 pixels")
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    level: Int32 = Field(
        0, ge=0, description="The viewer's zoom hint; the rectangle is level 0 whatever it says"
    )


class RoiStatsBody(RequestModel):
    slide_id: uuid.UUID
    x_min: float
    y_min: float
    x_max: float
    y_max: float


# Response bodies, as documented ----------------------------------------------------


class BoundsL0(BaseModel):
    x_min: float
    y_min: float
    x_max: float
    y_max: float


class CellTypeCount(BaseModel):
    cell_type: int
    cell_type_name: str
    count: int
    fraction: float


class CellTypeEntry(BaseModel):
    count: int
    name: str


class NucleusOut(BaseModel):
    id: int
    x: float
    y: float
    cell_type: int
    cell_type_name: str
    probability: float


class AnalysisBoxOut(BaseModel):
    id: str
    slide_id: str
    label: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    total_nuclei: int
    area_mm2: float
    density_per_mm2: float
    neoplastic_ratio: float
    cell_type_counts: dict[str, CellTypeEntry] = Field(
        description="Every cell type by its index: count and name"
    )
    created_at: str | None


class AnalysisBoxDetail(AnalysisBoxOut):
    cell_type_breakdown: list[CellTypeCount]
    shannon_h: float
    inflammatory_index: float | None
    immune_tumour_ratio: float | None
    ne_epithelial_ratio: float | None
    viability: float | None


class AnalysisBoxList(BaseModel):
    slide_id: str
    boxes: list[AnalysisBoxOut]


class RoiStats(BaseModel):
    slide_id: str
    total_nuclei: int
    area_mm2: float
    density_per_mm2: float
    neoplastic_ratio: float
    cell_type_breakdown: list[CellTypeCount]
    mpp: float
    bounds_l0: BoundsL0


class ViewportNuclei(BaseModel):
    slide_id: str
    bounds_l0: BoundsL0
    nuclei: list[NucleusOut]
    truncated: bool = Field(description="True when the 50,000 cap cut the list")


def _object(properties: dict[str, Any], title: str) -> dict[str, Any]:
    return {"title": title, "type": "object", "properties": properties, "required": [*properties]}


# A GeoJSON export, as store.FEATURE_SQL writes each feature: QuPath's detections.
QUPATH_DETECTIONS = _object(
    {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": _object(
                {
                    "type": {"const": "Feature"},
                    "id": {"type": "string", "format": "uuid"},
                    "geometry": _object(
                        {
                            "type": {"enum": ["Polygon", "Point"]},
                            "coordinates": {
                                "type": "array",
                                "description": "Level-0 pixels: the contour's rings, or "
                                "the centroid of a nucleus without area",
                            },
                        },
                        "Geometry",
                    ),
                    "properties": _object(
                        {
                            "objectType": {"const": "detection"},
                            "classification": _object(
                                {
                                    "name": {"type": "string"},
                                    "color": {
                                        "type": "array",
                                        "items": {"type": "integer", "minimum": 0, "maximum": 255},
                                        "minItems": 3,
                                        "maxItems": 3,
                                    },
                                },
                                "Classification",
                            ),
                            "measurements": _object(
                                {
                                    "Area µm^2": {"type": "number"},
                                    "Perimeter µm": {"type": "number"},
                                    "Probability": {"type": "number"},
                                },
                                "Measurements",
                            ),
                        },
                        "DetectionProperties",
                    ),
                },
                "Detection",
            ),
        },
    },
    "QuPathDetections",
)
GEOJSON_BODY = {200: {"content": {GEOJSON: {"schema": QUPATH_DETECTIONS}}}}


def _viewport_events() -> dict[str, dict[str, Any]]:
    """The data of `viewport_event`'s events: each carries its `type`."""
    progress = json_schema(pb.ViewportProgress.DESCRIPTOR)
    progress["properties"]["percentage"] = {
        "type": "integer",
        "minimum": 0,
        "maximum": 100,
        "description": "Whole percent done (Slidekick's example: 25)",
    }
    complete = _object(
        {
            "box": {"$ref": "#/components/schemas/AnalysisBoxOut"},
            "nuclei": {"type": "array", "items": json_schema(pb.Nucleus.DESCRIPTOR)},
            "count": {"type": "integer"},
        },
        "ViewportComplete",
    )
    for name, data in (("progress", progress), ("complete", complete)):
        data["properties"] = {"type": {"const": name}, **data["properties"]}
        data["required"].append("type")
    return {"progress": progress, "complete": complete}


# Protos -> documented JSON ------------------------------------------------------------


def _bounds_json(bounds: pb.Bounds) -> dict[str, float]:
    return {
        "x_min": bounds.x_min,
        "y_min": bounds.y_min,
        "x_max": bounds.x_max,
        "y_max": bounds.y_max,
    }


def _region(body: RoiStatsBody) -> tuple[str, pb.Bounds]:
    bounds = pb.Bounds(x_min=body.x_min, y_min=body.y_min, x_max=body.x_max, y_max=body.y_max)
    return str(body.slide_id), bounds


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


def viewport_event(message: pb.AnalyzeViewportResponse) -> Event | None:
    """One AnalyzeViewport message as its documented SSE event."""
    if message.HasField("progress"):
        progress = to_json(message.progress)
        # Whole percent, as the Slidekick spec shows it (PyAMA's jobs keep 23.0).
        progress["percentage"] = int(progress["percentage"])
        return "progress", {"type": "progress", **progress}
    if message.HasField("complete"):
        complete = message.complete
        return "complete", {
            "type": "complete",
            "box": box_json(complete.box),
            "nuclei": [to_json(nucleus) for nucleus in complete.nuclei],
            "count": complete.count,
        }
    return None


async def _download(chunks: AsyncIterator[pb.ExportGeoJsonResponse], filename: str) -> Response:
    """A GeoJSON document streamed from the backend; its first chunk is awaited
    before the response starts, so an unknown box or slide is still a 404."""
    first = await anext(chunks, None)

    async def body() -> AsyncIterator[bytes]:
        if first is not None:
            yield first.chunk
        async for message in chunks:
            yield message.chunk

    return StreamingResponse(
        body(),
        media_type=GEOJSON,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# Routes -------------------------------------------------------------------------------


@inference_router.post(
    "/viewport-stream",
    summary="Segment a viewport with live SSE progress",
    response_class=StreamingResponse,
    responses=sse_body(_viewport_events()),
)
async def viewport_stream(body: ViewportBody, http_request: Request, backends: BackendsDep):
    """`x, y, width, height` are level-0 pixels whatever `level` says (the viewer's
    zoom hint, any value from 0 up). A `progress` event each time something
    changes (a phase begins, a batch is done; keep-alive comments while nothing
    does), then one `complete` event with the stored `box`, its `nuclei` and their
    `count`; a failure after the stream began is an `error` event (`type`,
    `message`, `error_code`). A client that disconnects cancels the analysis:
    nothing is stored."""
    request = pb.AnalyzeViewportRequest(
        slide_id=str(body.slide_id),
        x=body.x,
        y=body.y,
        width=body.width,
        height=body.height,
        level=body.level,
    )

    async def events() -> AsyncIterator[Event]:
        async for message in backends.spatial.AnalyzeViewport(request, timeout=NO_DEADLINE):
            event = viewport_event(message)
            if event is not None:
                yield event

    keepalive_s = backends.settings.sse_keepalive_s
    return await event_stream(events(), keepalive_s, request=http_request)


@roi_router.post("/stats", summary="Spatial statistics of a rectangle", response_model=RoiStats)
async def roi_stats(body: RoiStatsBody, backends: BackendsDep) -> dict[str, Any]:
    """Nuclei whose centroid lies in the rectangle (clamped to the slide), each
    place counted once where analyses overlap: the newest analysis stands."""
    slide_id, bounds = _region(body)
    response = await backends.spatial.GetRoiStats(
        pb.GetRoiStatsRequest(slide_id=slide_id, bounds=bounds)
    )
    data = to_json(response)
    data["bounds_l0"] = _bounds_json(response.bounds_l0)
    return data


@roi_router.post(
    "/nuclei", summary="Stored nuclei in a viewport (no inference)", response_model=ViewportNuclei
)
async def roi_nuclei(body: ViewportBody, backends: BackendsDep) -> dict[str, Any]:
    """`x, y, width, height` are level-0 pixels whatever `level` says (the viewer's
    zoom hint, any value from 0 up). At most 50,000 nuclei; `truncated` says when
    there were more."""
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


@roi_router.post(
    "/geojson",
    summary="A rectangle's nuclei as QuPath detections (GeoJSON)",
    response_class=StreamingResponse,
    responses=GEOJSON_BODY,
)
async def roi_geojson(body: RoiStatsBody, backends: BackendsDep) -> Response:
    slide_id, bounds = _region(body)
    region = pb.SlideRegion(slide_id=slide_id, bounds=bounds)
    chunks = backends.spatial.ExportGeoJson(
        pb.ExportGeoJsonRequest(region=region), timeout=backends.settings.stream_timeout_s
    )
    return await _download(chunks, f"roi-{slide_id}.geojson")


@boxes_router.get(
    "/{slide_id}", summary="A slide's analysis boxes, newest first", response_model=AnalysisBoxList
)
async def list_boxes(slide_id: uuid.UUID, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.spatial.ListAnalysisBoxes(
        pb.ListAnalysisBoxesRequest(slide_id=str(slide_id))
    )
    return {"slide_id": response.slide_id, "boxes": [box_json(box) for box in response.boxes]}


@boxes_router.get(
    "/detail/{box_id}",
    summary="One box with its derived clinical metrics",
    response_model=AnalysisBoxDetail,
)
async def box_detail(box_id: uuid.UUID, backends: BackendsDep) -> dict[str, Any]:
    """The figures of the box's own run; ratios that would divide by zero are null."""
    response = await backends.spatial.GetAnalysisBox(pb.GetAnalysisBoxRequest(box_id=str(box_id)))
    return {
        **box_json(response.box),
        "cell_type_breakdown": [to_json(item) for item in response.box.cell_type_counts],
        **to_json(response.metrics),
    }


@boxes_router.get(
    "/{box_id}/geojson",
    summary="A box's nuclei as QuPath detections (GeoJSON)",
    response_class=StreamingResponse,
    responses=GEOJSON_BODY,
)
async def box_geojson(box_id: uuid.UUID, backends: BackendsDep) -> Response:
    """The box's nuclei that no newer analysis covers, so exports of overlapping
    boxes never hold a nucleus twice."""
    chunks = backends.spatial.ExportGeoJson(
        pb.ExportGeoJsonRequest(box_id=str(box_id)), timeout=backends.settings.stream_timeout_s
    )
    return await _download(chunks, f"box-{box_id}.geojson")


@boxes_router.delete("/{box_id}", status_code=204, summary="Delete a box and its nuclei")
async def delete_box(box_id: uuid.UUID, backends: BackendsDep) -> Response:
    await backends.spatial.DeleteAnalysisBox(pb.DeleteAnalysisBoxRequest(box_id=str(box_id)))
    return Response(status_code=204)
