"""MCP tools for fitting kinetic models to single-cell traces: the models, loading
traces, starting a fit, its status and results, and two pictures (one cell's fit, a
parameter's histogram) as images. Adapters over `AnalysisClient`, as the REST routes
are: the same requests, the same answers."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, Image, MCPServer
from pydantic import Field

from edge.clients import Clients
from edge.clients.analysis import (
    ColumnsBody,
    FittingOptionsBody,
    LoadTracesBody,
    StartFittingBody,
    fitting_status_json,
)
from edge.fields import Int32, Int64

TraceColumns = ColumnsBody  # one model of the column names, for REST and MCP


def register(mcp: MCPServer, clients: Clients) -> None:
    """Add the fitting tools to `mcp`."""
    analysis = clients.analysis

    @mcp.tool()
    async def list_fitting_models() -> list[dict[str, Any]]:
        """Every fitting model: name, description, equation and its parameters (name,
        symbol, default, bounds, description, fixed)."""
        return await analysis.models()

    @mcp.tool()
    async def load_traces(
        csv_path: str, columns: TraceColumns | None = None, include_bad_cells: bool = False
    ) -> dict[str, Any]:
        """Load and check a trace CSV (per-FOV traces, merged sample, or tidy
        time/fov/cell/value): cells, time points, FOVs, ranges, gaps. Cells marked bad
        (set_cell_quality) are left out and counted in summary.excluded_cells unless
        `include_bad_cells`."""
        body = LoadTracesBody.model_construct(
            csv_path=csv_path,
            options=columns or TraceColumns(),
            include_bad_cells=include_bad_cells,
        )
        return await analysis.load_traces(body)

    @mcp.tool()
    async def start_fitting(
        csv_path: str,
        model_type: str,
        model_params: dict[str, float] | None = None,
        model_bounds: dict[str, tuple[float, float]] | None = None,
        columns: TraceColumns | None = None,
        good_fits_only: bool = False,
        include_bad_cells: bool = False,
    ) -> dict[str, Any]:
        """Fit `model_type` (see list_fitting_models) to every cell of a trace CSV as a
        job. `model_params`: initial values by parameter name; `model_bounds`:
        [min, max] by name (bounds free a parameter that is fixed by default). Cells
        marked bad are left out unless `include_bad_cells`.
        Follow it with wait_for_fitting (or get_fitting_status), then get_fitting_results."""
        body = StartFittingBody.model_construct(
            csv_path=csv_path,
            model_type=model_type,
            model_params=model_params or {},
            model_bounds=model_bounds or {},
            options=FittingOptionsBody(
                good_fits_only=good_fits_only,
                include_bad_cells=include_bad_cells,
                columns=columns or TraceColumns(),
            ),
        )
        return (await analysis.start_fitting(body)).model_dump()

    @mcp.tool()
    async def get_fitting_status(job_id: str) -> dict[str, Any]:
        """Status and progress of a fitting job: cells done, successful and failed
        fits, average r^2."""
        return fitting_status_json(await analysis.job(job_id))

    @mcp.tool()
    async def wait_for_fitting(job_id: str, ctx: Context) -> dict[str, Any]:
        """Follow a fitting job until it ends, reporting its progress (cells fitted
        of all); returns its final status."""
        status: dict[str, Any] = {}
        async for job in analysis.watch(job_id, timeout=clients.settings.stream_timeout_s):
            status = fitting_status_json(job)
            progress = status["progress"]
            await ctx.report_progress(
                progress["current_cell"], progress["total_cells"] or None, job.message
            )
        return status

    @mcp.tool()
    async def get_fitting_results(job_id: str) -> dict[str, Any]:
        """Results of a completed fitting job: the results CSV, totals, per-parameter
        mean/std/min/max and the r^2 quality bands."""
        return await analysis.results(job_id)

    @mcp.tool()
    async def plot_cell_fit(job_id: str, cell: Int64, fov: Int64 = 0) -> Image:
        """A picture of one cell's data with its fitted curve (completed jobs)."""
        return Image(data=(await analysis.cell_fit_plot(job_id, cell, fov)).png, format="png")

    @mcp.tool()
    async def plot_parameter_histogram(
        job_id: str, parameter: str, bins: Annotated[Int32, Field(ge=1, le=500)] = 30
    ) -> Image:
        """A histogram of one fitted parameter over the cells of a completed job."""
        return Image(data=await analysis.parameter_histogram(job_id, parameter, bins), format="png")
