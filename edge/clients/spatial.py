"""The spatial service as the edge speaks it: viewport analysis, region statistics,
analysis boxes, QuPath exports and whole-slide analysis jobs (slidekick-api.md, and
/api/slide-analysis beyond it).

Each method builds its RPC's request from the documented fields and returns the
documented answer, once; the REST and SSE routes (edge/routes/spatial.py,
edge/routes/slide_analysis.py) and the MCP tools (edge/mcp_spatial.py) only adapt
them to their transport.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
from pydantic import BaseModel, Field

from edge.backends import NO_DEADLINE
from edge.clients.jobs import JobsClient
from edge.errors import BackendError
from edge.fields import Int32, Int64, RequestModel
from edge.jobs_json import JOB_STATUS, JobError, job_json
from edge.protojson import timestamp_to_json, to_json
from micrographia.common.v1 import common_pb2
from micrographia.spatial.v1 import spatial_pb2 as pb

SLIDE_ANALYSIS_JOB = "slide_analysis"

# Requests and answers, as documented ----------------------------------------------------


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

    def region(self) -> pb.Bounds:
        return bounds(self.x_min, self.y_min, self.x_max, self.y_max)


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


def bounds(x_min: float, y_min: float, x_max: float, y_max: float) -> pb.Bounds:
    return pb.Bounds(x_min=x_min, y_min=y_min, x_max=x_max, y_max=y_max)


# The client --------------------------------------------------------------------------


class SpatialClient(JobsClient):
    """Every spatial RPC the edge makes, its whole-slide analysis jobs' included.
    Failures are `BackendError` (edge/errors.py answers them for REST,
    edge/mcp_server.py for MCP)."""

    service = "spatial"

    def analyze_viewport(self, body: ViewportBody) -> AsyncIterator[pb.AnalyzeViewportResponse]:
        """Progress messages, then the complete one (no deadline: as long as the work,
        or the caller; leaving cancels it, and nothing is stored)."""
        backend = self._backend
        request = pb.AnalyzeViewportRequest(
            slide_id=str(body.slide_id),
            x=body.x,
            y=body.y,
            width=body.width,
            height=body.height,
            level=body.level,
        )
        return backend.stream(backend.stub.AnalyzeViewport, request, timeout=NO_DEADLINE)

    async def roi_stats(self, slide_id: str, region: pb.Bounds) -> dict[str, Any]:
        """`RoiStats`: nuclei whose centroid lies in the rectangle, the newest analysis
        counting where analyses overlap."""
        backend = self._backend
        request = pb.GetRoiStatsRequest(slide_id=slide_id, bounds=region)
        response = await backend.unary(backend.stub.GetRoiStats, request)
        data = to_json(response)
        data["bounds_l0"] = _bounds_json(response.bounds_l0)
        return data

    async def nuclei_in_viewport(self, body: ViewportBody) -> dict[str, Any]:
        """`ViewportNuclei`: at most 50,000, `truncated` when there were more."""
        backend = self._backend
        request = pb.ListNucleiInViewportRequest(
            slide_id=str(body.slide_id),
            x=body.x,
            y=body.y,
            width=body.width,
            height=body.height,
            level=body.level,
        )
        return to_json(await backend.unary(backend.stub.ListNucleiInViewport, request))

    def export_geojson(
        self, request: pb.ExportGeoJsonRequest
    ) -> AsyncIterator[pb.ExportGeoJsonResponse]:
        """The chunks of one GeoJSON document (a box, or a slide's rectangle)."""
        backend = self._backend
        timeout = self._backends.settings.stream_timeout_s
        return backend.stream(backend.stub.ExportGeoJson, request, timeout=timeout)

    async def boxes(self, slide_id: str) -> dict[str, Any]:
        """`AnalysisBoxList`: the slide's boxes, newest first."""
        backend = self._backend
        request = pb.ListAnalysisBoxesRequest(slide_id=slide_id)
        response = await backend.unary(backend.stub.ListAnalysisBoxes, request)
        return {"slide_id": response.slide_id, "boxes": [box_json(box) for box in response.boxes]}

    async def box_detail(self, box_id: str) -> dict[str, Any]:
        """`AnalysisBoxDetail`: the box with its run's derived metrics."""
        backend = self._backend
        request = pb.GetAnalysisBoxRequest(box_id=box_id)
        response = await backend.unary(backend.stub.GetAnalysisBox, request)
        return {
            **box_json(response.box),
            "cell_type_breakdown": [to_json(item) for item in response.box.cell_type_counts],
            **to_json(response.metrics),
        }

    async def box_or_none(self, box_id: str) -> dict[str, Any] | None:
        """`AnalysisBoxOut`; None once the box was deleted."""
        backend = self._backend
        request = pb.GetAnalysisBoxRequest(box_id=box_id)
        try:
            response = await backend.unary(backend.stub.GetAnalysisBox, request)
        except BackendError as error:
            if error.failure.grpc_code is grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return box_json(response.box)

    async def delete_box(self, box_id: str) -> None:
        backend = self._backend
        request = pb.DeleteAnalysisBoxRequest(box_id=box_id)
        await backend.unary(backend.stub.DeleteAnalysisBox, request)

    # Whole-slide analysis jobs ---------------------------------------------------------

    async def start_slide_analysis(self, body: SlideAnalysisBody) -> dict[str, Any]:
        """`SlideAnalysisStarted`."""
        backend = self._backend
        request = pb.StartSlideAnalysisRequest(
            slide_id=str(body.slide_id), label=body.label, region_size=body.region_size
        )
        response = await backend.unary(backend.stub.StartSlideAnalysis, request)
        return {
            "job_id": response.job_id,
            "box_id": response.box_id,
            "regions": response.regions,
            "tissue_mm2": response.tissue_mm2,
            "message": response.message,
            "estimated_duration": response.estimated_duration_s,
            "status": slide_analysis_json(response.job),
        }

    async def slide_analyses(
        self, slide_id: uuid.UUID | None, active: bool, limit: int
    ) -> dict[str, Any]:
        """`SlideAnalysisList`, newest first."""
        statuses = [common_pb2.JOB_STATUS_PENDING, common_pb2.JOB_STATUS_RUNNING] if active else []
        labels = {"slide_id": str(slide_id)} if slide_id else None
        response = await self.jobs(
            type=SLIDE_ANALYSIS_JOB, statuses=statuses, limit=limit, labels=labels
        )
        return {
            "analyses": [slide_analysis_json(job) for job in response.jobs],
            "total": response.total,
        }

    async def slide_analysis_regions(self, job_id: str) -> dict[str, Any]:
        backend = self._backend
        request = pb.ListSlideAnalysisRegionsRequest(job_id=job_id)
        return to_json(await backend.unary(backend.stub.ListSlideAnalysisRegions, request))
