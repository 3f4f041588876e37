"""/api/inference, /api/roi, /api/boxes: viewport analysis with live progress,
spatial statistics, analysis boxes and QuPath exports (slidekick-api.md), over
`SpatialClient`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from edge.clients.spatial import (
    AnalysisBoxDetail,
    AnalysisBoxList,
    RoiStats,
    RoiStatsBody,
    ViewportBody,
    ViewportNuclei,
    box_json,
)
from edge.dependencies import ClientsDep
from edge.openapi import sse_body
from edge.protojson import json_schema, to_json
from edge.sse import Event, event_stream
from micrographia.spatial.v1 import spatial_pb2 as pb

inference_router = APIRouter(prefix="/api/inference", tags=["inference"])
roi_router = APIRouter(prefix="/api/roi", tags=["roi"])
boxes_router = APIRouter(prefix="/api/boxes", tags=["boxes"])

GEOJSON = "application/geo+json"


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
async def viewport_stream(body: ViewportBody, http_request: Request, clients: ClientsDep):
    """`x, y, width, height` are level-0 pixels whatever `level` says (the viewer's
    zoom hint, any value from 0 up). A `progress` event each time something
    changes (a phase begins, a batch is done; keep-alive comments while nothing
    does), then one `complete` event with the stored `box`, its `nuclei` and their
    `count`; a failure after the stream began is an `error` event (`type`,
    `message`, `error_code`). A client that disconnects cancels the analysis:
    nothing is stored."""

    async def events() -> AsyncIterator[Event]:
        async for message in clients.spatial.analyze_viewport(body):
            event = viewport_event(message)
            if event is not None:
                yield event

    keepalive_s = clients.settings.sse_keepalive_s
    return await event_stream(events(), keepalive_s, request=http_request)


@roi_router.post("/stats", summary="Spatial statistics of a rectangle", response_model=RoiStats)
async def roi_stats(body: RoiStatsBody, clients: ClientsDep) -> dict[str, Any]:
    """Nuclei whose centroid lies in the rectangle (clamped to the slide), each
    place counted once where analyses overlap: the newest analysis stands."""
    return await clients.spatial.roi_stats(str(body.slide_id), body.region())


@roi_router.post(
    "/nuclei", summary="Stored nuclei in a viewport (no inference)", response_model=ViewportNuclei
)
async def roi_nuclei(body: ViewportBody, clients: ClientsDep) -> dict[str, Any]:
    """`x, y, width, height` are level-0 pixels whatever `level` says (the viewer's
    zoom hint, any value from 0 up). At most 50,000 nuclei; `truncated` says when
    there were more."""
    return await clients.spatial.nuclei_in_viewport(body)


@roi_router.post(
    "/geojson",
    summary="A rectangle's nuclei as QuPath detections (GeoJSON)",
    response_class=StreamingResponse,
    responses=GEOJSON_BODY,
)
async def roi_geojson(body: RoiStatsBody, clients: ClientsDep) -> Response:
    slide_id = str(body.slide_id)
    region = pb.SlideRegion(slide_id=slide_id, bounds=body.region())
    chunks = clients.spatial.export_geojson(pb.ExportGeoJsonRequest(region=region))
    return await _download(chunks, f"roi-{slide_id}.geojson")


@boxes_router.get(
    "/{slide_id}", summary="A slide's analysis boxes, newest first", response_model=AnalysisBoxList
)
async def list_boxes(slide_id: uuid.UUID, clients: ClientsDep) -> dict[str, Any]:
    return await clients.spatial.boxes(str(slide_id))


@boxes_router.get(
    "/detail/{box_id}",
    summary="One box with its derived clinical metrics",
    response_model=AnalysisBoxDetail,
)
async def box_detail(box_id: uuid.UUID, clients: ClientsDep) -> dict[str, Any]:
    """The figures of the box's own run; ratios that would divide by zero are null."""
    return await clients.spatial.box_detail(str(box_id))


@boxes_router.get(
    "/{box_id}/geojson",
    summary="A box's nuclei as QuPath detections (GeoJSON)",
    response_class=StreamingResponse,
    responses=GEOJSON_BODY,
)
async def box_geojson(box_id: uuid.UUID, clients: ClientsDep) -> Response:
    """The box's nuclei that no newer analysis covers, so exports of overlapping
    boxes never hold a nucleus twice."""
    chunks = clients.spatial.export_geojson(pb.ExportGeoJsonRequest(box_id=str(box_id)))
    return await _download(chunks, f"box-{box_id}.geojson")


@boxes_router.delete("/{box_id}", status_code=204, summary="Delete a box and its nuclei")
async def delete_box(box_id: uuid.UUID, clients: ClientsDep) -> Response:
    await clients.spatial.delete_box(str(box_id))
    return Response(status_code=204)
