"""MCP tools for fitting kinetic models to single-cell traces (issue 9): the
models, loading traces, starting a fit, its status and results, and two
pictures (one cell's fit, a parameter's histogram) as images."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from edge.backends import Backends
from edge.errors import BackendError, user_message
from edge.fields import Int32, Int64
from edge.mcp_tools import _call as call
from edge.protojson import to_json
from edge.routes.analysis import ColumnsBody, fitting_status_json, model_json
from micrographia.analysis.v1 import analysis_pb2 as pb
from micrographia.common.v1 import common_pb2

TraceColumns = ColumnsBody  # one model of the column names, for REST and MCP


def register(mcp: MCPServer, backends: Backends) -> None:
    """Add the fitting tools to `mcp`."""

    @mcp.tool()
    async def list_fitting_models() -> list[dict[str, Any]]:
        """Every fitting model: name, description, equation and its parameters (name,
        symbol, default, bounds, description, fixed)."""
        response = await call(backends.analysis.ListModels(pb.ListModelsRequest()))
        return [model_json(model) for model in response.models]

    @mcp.tool()
    async def load_traces(
        csv_path: str, columns: TraceColumns | None = None, include_bad_cells: bool = False
    ) -> dict[str, Any]:
        """Load and check a trace CSV (per-FOV traces, merged sample, or tidy
        time/fov/cell/value): cells, time points, FOVs, ranges, gaps. Cells marked bad
        (set_cell_quality) are left out and counted in summary.excluded_cells unless
        `include_bad_cells`."""
        request = pb.LoadTracesRequest(
            csv_path=csv_path,
            options=(columns or TraceColumns()).message(),
            include_bad_cells=include_bad_cells,
        )
        return to_json(await call(backends.analysis.LoadTraces(request)))

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
        request = pb.StartFittingRequest(
            csv_path=csv_path,
            model_type=model_type,
            model_params=model_params or {},
            model_bounds={
                name: pb.Range(min=low, max=high)
                for name, (low, high) in (model_bounds or {}).items()
            },
            options=pb.FittingOptions(
                good_fits_only=good_fits_only,
                include_bad_cells=include_bad_cells,
                parallel=True,
                columns=(columns or TraceColumns()).message(),
            ),
        )
        response = await call(backends.analysis.StartFitting(request))
        return {
            "job_id": response.job_id,
            "message": response.message,
            "estimated_duration": response.estimated_duration_s,
        }

    @mcp.tool()
    async def get_fitting_status(job_id: str) -> dict[str, Any]:
        """Status and progress of a fitting job: cells done, successful and failed
        fits, average r^2."""
        request = common_pb2.GetJobRequest(job_id=job_id)
        return fitting_status_json((await call(backends.analysis.GetJob(request))).job)

    @mcp.tool()
    async def wait_for_fitting(job_id: str, ctx: Context) -> dict[str, Any]:
        """Follow a fitting job until it ends, reporting its progress (cells fitted
        of all); returns its final status."""
        request = common_pb2.WatchJobRequest(job_id=job_id)
        stream = backends.analysis.WatchJob(request, timeout=backends.settings.stream_timeout_s)
        status: dict[str, Any] = {}
        try:
            async for job in stream:
                status = fitting_status_json(job)
                progress = status["progress"]
                await ctx.report_progress(
                    progress["current_cell"], progress["total_cells"] or None, job.message
                )
        except BackendError as error:
            message, _ = user_message(error)
            raise ToolError(f"{error.failure.error_code}: {message}") from None
        return status

    @mcp.tool()
    async def get_fitting_results(job_id: str) -> dict[str, Any]:
        """Results of a completed fitting job: the results CSV, totals, per-parameter
        mean/std/min/max and the r^2 quality bands."""
        request = pb.GetFittingResultsRequest(job_id=job_id)
        return to_json(await call(backends.analysis.GetFittingResults(request)))

    @mcp.tool()
    async def plot_cell_fit(job_id: str, cell: Int64, fov: Int64 = 0) -> Image:
        """A picture of one cell's data with its fitted curve (completed jobs)."""
        request = pb.PlotCellFitRequest(job_id=job_id, fov=fov, cell=cell)
        return Image(data=(await call(backends.analysis.PlotCellFit(request))).png, format="png")

    @mcp.tool()
    async def plot_parameter_histogram(
        job_id: str, parameter: str, bins: Annotated[Int32, Field(ge=1, le=500)] = 30
    ) -> Image:
        """A histogram of one fitted parameter over the cells of a completed job."""
        request = pb.PlotParameterHistogramRequest(job_id=job_id, parameter=parameter, bins=bins)
        response = await call(backends.analysis.PlotParameterHistogram(request))
        return Image(data=response.png, format="png")
