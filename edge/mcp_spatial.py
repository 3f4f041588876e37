"""MCP tools for slides: analyse a region with live progress, analyse the whole
slide as a job, region statistics, analysis boxes, QuPath exports (slidekick-api.md).
`list_slides` lives with the other tools in edge/mcp_tools.py.

Adapters over `SpatialClient`, as the REST routes are: inputs and outputs are typed,
and outputs are the REST response models, so a model sees the shapes the
documented API returns.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from edge.clients import Clients
from edge.clients.spatial import (
    AnalysisBoxList,
    AnalysisBoxOut,
    RoiStats,
    SlideAnalysisBody,
    SlideAnalysisStarted,
    SlideAnalysisStatus,
    ViewportBody,
    bounds,
    box_json,
    slide_analysis_json,
)
from edge.fields import Int32, Int64
from edge.mcp_server import EdgeMCPServer
from micrographia.spatial.v1 import spatial_pb2 as pb


class RegionAnalysis(BaseModel):
    box: AnalysisBoxOut = Field(description="The stored analysis box and its figures")
    count: int = Field(description="Nuclei found (fetch them with roi_stats or export_geojson)")


def register(mcp: EdgeMCPServer, clients: Clients) -> None:
    """Add the spatial tools to `mcp`."""
    spatial = clients.spatial

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
        # Not validated here: the service words a bad id or rectangle, as it always has.
        body = ViewportBody.model_construct(
            slide_id=slide_id, x=x, y=y, width=width, height=height, level=level
        )
        async for message in spatial.analyze_viewport(body):
            if message.HasField("progress"):
                step = message.progress
                await ctx.report_progress(step.current, step.total or None, step.message)
            elif message.HasField("complete"):
                complete = message.complete
                return RegionAnalysis(box=box_json(complete.box), count=complete.count)
        raise ToolError("PROCESSING_ERROR: the analysis ended without a result")

    @mcp.tool()
    async def roi_stats(
        slide_id: str, x_min: float, y_min: float, x_max: float, y_max: float
    ) -> RoiStats:
        """Statistics of the stored nuclei in a rectangle of a slide (level-0 pixels):
        total, density per mm^2, neoplastic ratio and the count and fraction of each
        of the six cell types. Where analyses overlap the newest one counts."""
        region = bounds(x_min, y_min, x_max, y_max)
        return RoiStats.model_validate(await spatial.roi_stats(slide_id, region))

    @mcp.tool()
    async def list_boxes(slide_id: str) -> AnalysisBoxList:
        """The analysis boxes of a slide, newest first, each with its own figures."""
        return AnalysisBoxList.model_validate(await spatial.boxes(slide_id))

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
            region = pb.SlideRegion(slide_id=slide_id, bounds=bounds(x_min, y_min, x_max, y_max))
            request = pb.ExportGeoJsonRequest(region=region)
        else:
            raise ToolError("INVALID_PARAMETERS: give box_id, or slide_id and a rectangle")
        return json.loads(b"".join([m.chunk async for m in spatial.export_geojson(request)]))


def register_slide_analysis(mcp: EdgeMCPServer, clients: Clients) -> None:
    """Add the whole-slide analysis tools to `mcp`."""
    spatial = clients.spatial

    @mcp.tool()
    async def start_slide_analysis(
        slide_id: str, label: str = "", region_size: Int64 = 0
    ) -> SlideAnalysisStarted:
        """Analyse a slide's whole tissue (HoVerNet on every tissue region, spread over
        every inference replica) as a job; each region's nuclei are stored in one analysis
        box as it completes. `region_size`: region edge in level-0 pixels (0: default).
        Follow it with wait_for_slide_analysis; afterwards roi_stats and export_geojson
        cover the whole slide."""
        body = SlideAnalysisBody.model_construct(
            slide_id=slide_id, label=label, region_size=region_size
        )
        return SlideAnalysisStarted.model_validate(await spatial.start_slide_analysis(body))

    @mcp.tool()
    async def get_slide_analysis(job_id: str) -> SlideAnalysisStatus:
        """Status of a whole-slide analysis: regions done of all, nuclei stored, tissue
        mm^2 analysed of all, seconds left."""
        return SlideAnalysisStatus.model_validate(slide_analysis_json(await spatial.job(job_id)))

    @mcp.tool()
    async def wait_for_slide_analysis(job_id: str, ctx: Context) -> SlideAnalysisStatus:
        """Follow a whole-slide analysis until it ends, reporting progress (regions
        stored of all); returns its final status."""
        status: dict[str, Any] = {}
        async for job in spatial.watch(job_id):
            status = slide_analysis_json(job)
            progress = status["progress"]
            await ctx.report_progress(
                progress["regions_done"], progress["regions_total"] or None, job.message
            )
        return SlideAnalysisStatus.model_validate(status)

    @mcp.tool()
    async def cancel_slide_analysis(job_id: str) -> SlideAnalysisStatus:
        """Stop a whole-slide analysis; the regions already stored stay."""
        return SlideAnalysisStatus.model_validate(slide_analysis_json(await spatial.cancel(job_id)))
