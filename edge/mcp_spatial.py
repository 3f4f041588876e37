"""MCP tools for slides: analyse a region with live progress, analyse the whole
slide as a job, region statistics, analysis boxes, QuPath exports (slidekick-api.md). `list_slides`
lives with the other tools in edge/mcp_tools.py.

Inputs and outputs are typed; outputs reuse the REST response models, so a model
sees the same shapes the documented API returns.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from edge.backends import NO_DEADLINE, Backends
from edge.fields import Int32, Int64
from edge.mcp_server import EdgeMCPServer
from edge.mcp_tools import _call
from edge.protojson import to_json
from edge.routes.slide_analysis import (
    SlideAnalysisStarted,
    SlideAnalysisStatus,
    follow,
    slide_analysis_json,
)
from edge.routes.slide_analysis import get_slide_analysis as get_slide_analysis_job
from edge.routes.spatial import AnalysisBoxList, AnalysisBoxOut, RoiStats, box_json
from micrographia.common.v1 import common_pb2
from micrographia.spatial.v1 import spatial_pb2 as pb


class RegionAnalysis(BaseModel):
    box: AnalysisBoxOut = Field(description="The stored analysis box and its figures")
    count: int = Field(description="Nuclei found (fetch them with roi_stats or export_geojson)")


def _bounds(x_min: float, y_min: float, x_max: float, y_max: float) -> pb.Bounds:
    return pb.Bounds(x_min=x_min, y_min=y_min, x_max=x_max, y_max=y_max)


def register(mcp: EdgeMCPServer, backends: Backends) -> None:
    """Add the spatial tools to `mcp`."""

    @mcp.tool()
    async def analyze_region(
        slide_id: str,
        x: float,
        y: float,
        width: float,
        height: float,
        ctx: Context,
        level: Int32 = 0,
    ) -> RegionAnalysis:
        """Segment and classify every nucleus (HoVerNet) in a rectangle of a slide,
        given in level-0 pixels (top-left x, y, width, height), and store the result
        as an analysis box. Progress is reported while it runs (minutes on a CPU)."""
        request = pb.AnalyzeViewportRequest(
            slide_id=slide_id, x=x, y=y, width=width, height=height, level=level
        )

        async def analysis() -> RegionAnalysis:
            stream = backends.spatial.AnalyzeViewport(request, timeout=NO_DEADLINE)
            async for message in stream:
                if message.HasField("progress"):
                    progress = message.progress
                    await ctx.report_progress(
                        progress.current, progress.total or None, progress.message
                    )
                elif message.HasField("complete"):
                    complete = message.complete
                    return RegionAnalysis(box=box_json(complete.box), count=complete.count)
            raise ToolError("PROCESSING_ERROR: the analysis ended without a result")

        return await _call(analysis())

    @mcp.tool()
    async def roi_stats(
        slide_id: str, x_min: float, y_min: float, x_max: float, y_max: float
    ) -> RoiStats:
        """Statistics of the stored nuclei in a rectangle of a slide (level-0 pixels):
        total, density per mm^2, neoplastic ratio and the count and fraction of each
        of the six cell types. Where analyses overlap the newest one counts."""
        request = pb.GetRoiStatsRequest(
            slide_id=slide_id, bounds=_bounds(x_min, y_min, x_max, y_max)
        )
        response = await _call(backends.spatial.GetRoiStats(request))
        return RoiStats.model_validate(to_json(response))

    @mcp.tool()
    async def list_boxes(slide_id: str) -> AnalysisBoxList:
        """The analysis boxes of a slide, newest first, each with its own figures."""
        request = pb.ListAnalysisBoxesRequest(slide_id=slide_id)
        response = await _call(backends.spatial.ListAnalysisBoxes(request))
        return AnalysisBoxList(
            slide_id=response.slide_id, boxes=[box_json(box) for box in response.boxes]
        )

    @mcp.tool()
    async def export_geojson(
        box_id: str | None = None,
        slide_id: str | None = None,
        x_min: float = 0,
        y_min: float = 0,
        x_max: float = 0,
        y_max: float = 0,
    ) -> dict[str, Any]:
        """Nuclei as a GeoJSON FeatureCollection that QuPath imports as detections
        (contours in level-0 pixels, classification with colour, measurements).
        Give `box_id` for one analysis box, or `slide_id` and a rectangle."""
        if box_id:
            request = pb.ExportGeoJsonRequest(box_id=box_id)
        elif slide_id:
            region = pb.SlideRegion(slide_id=slide_id, bounds=_bounds(x_min, y_min, x_max, y_max))
            request = pb.ExportGeoJsonRequest(region=region)
        else:
            raise ToolError("INVALID_PARAMETERS: give box_id, or slide_id and a rectangle")

        async def document() -> bytes:
            stream = backends.spatial.ExportGeoJson(
                request, timeout=backends.settings.stream_timeout_s
            )
            return b"".join([message.chunk async for message in stream])

        return json.loads(await _call(document()))


def register_slide_analysis(mcp: EdgeMCPServer, backends: Backends) -> None:
    """Add the whole-slide analysis tools to `mcp`."""

    @mcp.tool()
    async def start_slide_analysis(
        slide_id: str, label: str = "", region_size: Int64 = 0
    ) -> SlideAnalysisStarted:
        """Analyse a slide's whole tissue (HoVerNet on every tissue region, spread over
        every inference replica) as a job; each region's nuclei are stored in one analysis
        box as it completes. `region_size`: region edge in level-0 pixels (0: default).
        Follow it with wait_for_slide_analysis; afterwards roi_stats and export_geojson
        cover the whole slide."""
        request = pb.StartSlideAnalysisRequest(
            slide_id=slide_id, label=label, region_size=region_size
        )
        response = await _call(backends.spatial.StartSlideAnalysis(request))
        return SlideAnalysisStarted(
            job_id=response.job_id,
            box_id=response.box_id,
            regions=response.regions,
            tissue_mm2=response.tissue_mm2,
            message=response.message,
            estimated_duration=response.estimated_duration_s,
            status=slide_analysis_json(response.job),
        )

    @mcp.tool()
    async def get_slide_analysis(job_id: str) -> SlideAnalysisStatus:
        """Status of a whole-slide analysis: regions done of all, nuclei stored, tissue
        mm^2 analysed of all, seconds left."""
        job = await _call(get_slide_analysis_job(backends, job_id))
        return SlideAnalysisStatus.model_validate(slide_analysis_json(job))

    @mcp.tool()
    async def wait_for_slide_analysis(job_id: str, ctx: Context) -> SlideAnalysisStatus:
        """Follow a whole-slide analysis until it ends, reporting progress (regions
        stored of all); returns its final status."""

        async def watch() -> dict[str, Any]:
            status: dict[str, Any] = {}
            async for job in follow(backends, job_id):
                status = slide_analysis_json(job)
                progress = status["progress"]
                await ctx.report_progress(
                    progress["regions_done"], progress["regions_total"] or None, job.message
                )
            return status

        return SlideAnalysisStatus.model_validate(await _call(watch()))

    @mcp.tool()
    async def cancel_slide_analysis(job_id: str) -> SlideAnalysisStatus:
        """Stop a whole-slide analysis; the regions already stored stay."""
        request = common_pb2.CancelJobRequest(job_id=job_id)
        response = await _call(backends.spatial.CancelJob(request))
        return SlideAnalysisStatus.model_validate(slide_analysis_json(response.job))
