"""MCP tools of the microscopist's workbench (issue 21): the cells of a trace CSV,
quality marks, one cell's crops, the samples YAML, and the fitted-results explorer
(table, CSV, per-sample histogram, scatter of two parameters as images)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Image, MCPServer
from pydantic import Field

from edge.clients import Clients
from edge.clients.analysis import FittedCellFilter
from edge.clients.microscopy import CellMarkBody, QualityRuleBody, SampleBody, SaveSamplesBody
from edge.fields import Int32, Int64, reworded

# The workbench's requests are REST's (edge/clients/microscopy.py) in MCP's words.

CellMark = reworded(
    CellMarkBody,
    "CellMark",
    "One cell and its mark.",
    {
        "cell": "Cell (track) id",
        "good": "true keeps it; false leaves it out of merge and fitting",
    },
    defaults={"fov": 0},
)

QualityRule = reworded(
    QualityRuleBody,
    "QualityRule",
    "Cells a rule marks (at least one criterion).",
    {
        "border_margin": "Boxes within this many pixels of the frame's edge",
        "good": "The mark they get (default bad)",
    },
)


class SampleInput(SampleBody):
    """A sample: its name and FOVs as a range string."""

    # A range string only, and no length bounds: the service checks the name.
    name: str = Field(description="Letters, digits, _ - .")
    fovs: str = Field(description='FOVs, e.g. "0-3, 7"')


def register(mcp: MCPServer, clients: Clients) -> None:
    """Add the workbench tools to `mcp`, over the typed microscopy and analysis clients."""
    microscopy = clients.microscopy
    analysis = clients.analysis

    @mcp.tool()
    async def list_cells(
        traces_path: str,
        sort_by: str = "fov",
        descending: bool = False,
        offset: Int32 = 0,
        limit: Int32 = 100,
        good: bool | None = None,
    ) -> dict[str, Any]:
        """The cells of a trace CSV (a workflow's per-FOV traces or a merged file):
        track length, first/last frame, good flag, parent and daughters, each feature's
        mean. Sort by fov, cell, n_frames, good or a feature column; `good` filters."""
        return await microscopy.cells(
            traces_path,
            sort_by=sort_by,
            descending=descending,
            offset=offset,
            limit=limit,
            good=good,
        )

    @mcp.tool()
    async def get_cell(traces_path: str, cell: Int64, fov: Int32 = 0) -> dict[str, Any]:
        """One cell's trace (frame, time, position, box and every feature, in frame
        order) and its lineage (parent, daughters)."""
        return await microscopy.cell(traces_path, cell, fov)

    @mcp.tool()
    async def preview_cell(
        traces_path: str, cell: Int64, fov: Int32 = 0, channel: Int32 = 0, n_crops: Int32 = 8
    ) -> Image:
        """A strip of crops following one cell over its track, its outline drawn, to
        judge whether it is a real, well-segmented cell."""
        strip = await microscopy.cell_strip(
            traces_path, cell, fov=fov, channel=channel, n_crops=n_crops
        )
        return Image(data=strip.png, format="png")

    @mcp.tool()
    async def set_cell_quality(
        traces_path: str,
        cells: list[CellMark] | None = None,
        rule: QualityRule | None = None,
    ) -> dict[str, Any]:
        """Mark cells good or bad in the trace CSV's `good` column: named cells, or every
        cell a rule matches (tracks shorter than min_frames, boxes near the border).
        Bad cells are left out of merge, load_traces and fitting; mark them good again
        to undo."""
        return await microscopy.set_cell_quality(traces_path, cells or [], rule)

    @mcp.tool()
    async def get_samples(sample_yaml: str = "", input_dir: str = "") -> dict[str, Any]:
        """Read a samples YAML (names and FOV ranges) and list the FOVs with traces in
        a workflow's output folder."""
        return await microscopy.samples(sample_yaml, input_dir)

    @mcp.tool()
    async def save_samples(
        sample_yaml: str,
        samples: list[SampleInput],
        input_dir: str,
        merge_output_dir: str = "",
    ) -> dict[str, Any]:
        """Save the samples YAML merge reads, checked against the FOVs with traces in
        `input_dir`; with `merge_output_dir`, merge into it right away."""
        body = SaveSamplesBody.model_construct(
            sample_yaml=sample_yaml,
            samples=samples,
            input_dir=input_dir,
            merge_output_dir=merge_output_dir,
        )
        return await microscopy.save_samples(body)

    @mcp.tool()
    async def get_fitted_cells(
        job_ids: list[str],
        filter: FittedCellFilter | None = None,
        sort_by: str = "",
        descending: bool = False,
        offset: Int32 = 0,
        limit: Int32 = 100,
    ) -> dict[str, Any]:
        """The fitted cells of completed fitting jobs (one job per sample): each cell's
        parameters, r², success, good flag and sample, filtered, sorted and paged."""
        return await analysis.fitted_cells(
            job_ids, filter or FittedCellFilter(), sort_by, descending, offset, limit
        )

    @mcp.tool()
    async def export_fitted_cells(
        job_ids: list[str],
        filter: FittedCellFilter | None = None,
    ) -> str:
        """The filtered table of fitted cells as CSV text."""
        return (await analysis.fitted_cells_csv(job_ids, filter or FittedCellFilter())).csv

    @mcp.tool()
    async def plot_parameter_by_sample(
        job_ids: list[str],
        parameter: str,
        filter: FittedCellFilter | None = None,
        bins: Int32 = 30,
    ) -> Image:
        """Histograms of one fitted parameter, one per sample (job), overlaid."""
        where = filter or FittedCellFilter()
        png = await analysis.sample_histograms(job_ids, parameter, where, bins)
        return Image(data=png, format="png")

    @mcp.tool()
    async def plot_parameter_scatter(
        job_ids: list[str],
        x: str,
        y: str,
        filter: FittedCellFilter | None = None,
    ) -> Image:
        """Two fitted parameters against each other, one colour per sample."""
        scatter = await analysis.parameter_scatter(job_ids, x, y, filter or FittedCellFilter())
        return Image(data=scatter.png, format="png")
