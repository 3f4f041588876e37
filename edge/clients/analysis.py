"""The analysis service as the edge speaks it: fitting models, trace loading and
fitting jobs (pyama-api.md, "Analysis Endpoints").

Each method builds its RPC's request from the documented fields and returns the
documented answer, once; the REST routes (edge/routes/analysis.py) and the MCP
tools (edge/mcp_fitting.py) only adapt them to their transport.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from edge.clients.jobs import JobsClient
from edge.fields import Int32, RequestModel
from edge.jobs_json import JOB_STATUS, JobError, JobStarted, job_json, job_status
from edge.protojson import json_schema, to_json
from micrographia.analysis.v1 import analysis_pb2 as pb
from micrographia.common.v1 import common_pb2

# Requests --------------------------------------------------------------------------


class ColumnsBody(RequestModel):
    time_column: str = "time"
    # None: "value", else the first intensity_total_ch_* (then intensity_mean_ch_*) column.
    value_column: str | None = None
    cell_column: str = "cell"
    fov_column: str = "fov"

    def message(self) -> pb.TraceColumns:
        return pb.TraceColumns(
            time_column=self.time_column,
            value_column=self.value_column or "",
            cell_column=self.cell_column,
            fov_column=self.fov_column,
        )


class LoadTracesBody(RequestModel):
    csv_path: str = Field(min_length=1)
    options: ColumnsBody = Field(default_factory=ColumnsBody)
    include_bad_cells: bool = Field(
        False, description="Count cells marked bad (`good` false) too; by default left out"
    )


class FittingOptionsBody(RequestModel):
    good_fits_only: bool = Field(
        False, description="Fit only rows flagged good; refuse a CSV without a `good` column"
    )
    include_bad_cells: bool = Field(
        False, description="Fit cells marked bad (`good` false) too; by default left out"
    )
    parallel: bool = True
    n_workers: Int32 | None = Field(None, ge=1)
    columns: ColumnsBody = Field(default_factory=ColumnsBody)


class StartFittingBody(RequestModel):
    csv_path: str = Field(min_length=1)
    model_type: str = Field(min_length=1)
    model_params: dict[str, float] = Field(default_factory=dict)
    model_bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    options: FittingOptionsBody = Field(default_factory=FittingOptionsBody)


# Answers, fields in the order the functions below write them -------------------------


class FittingProgress(BaseModel):
    current_cell: int
    total_cells: int
    percentage: float
    successful_fits: int
    failed_fits: int
    average_r_squared: float | None = Field(description="Null before the first fit")
    estimated_remaining: float | None = Field(description="Seconds; null until known")


class FittingParams(BaseModel):
    model_type: str | None
    convergence_rate: float | None


class FittingStatus(BaseModel):
    """`fitting_status_json`'s body."""

    job_id: str
    status: str = JOB_STATUS
    progress: FittingProgress
    message: str
    current_params: FittingParams
    error: JobError | None
    created_at: str | None
    started_at: str | None
    updated_at: str | None
    finished_at: str | None


def model_schema() -> dict[str, Any]:
    """FitModel's schema with each parameter's `bounds` as `model_json` writes it."""
    schema = json_schema(pb.FitModel.DESCRIPTOR)
    parameter = schema["properties"]["parameters"]["items"]
    parameter["properties"]["bounds"] = {
        "type": "array",
        "items": {"type": "number"},
        "minItems": 2,
        "maxItems": 2,
        "description": "[min, max]",
    }
    return schema


def model_json(model: pb.FitModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "equation": model.equation,
        "parameters": [
            {
                "name": parameter.name,
                "symbol": parameter.symbol,
                "default": parameter.default,
                "bounds": [parameter.bounds.min, parameter.bounds.max],
                "description": parameter.description,
                "fixed": parameter.fixed,
            }
            for parameter in model.parameters
        ],
    }


def fitting_status_json(job: common_pb2.Job) -> dict[str, Any]:
    """The documented fitting status: per-cell progress and fit counters."""
    record = job_json(job)
    progress = record["progress"]
    counters = dict(job.progress.counters)
    return {
        "job_id": job.id,
        "status": job_status(job),
        "progress": {
            "current_cell": progress["current"],
            "total_cells": progress["total"],
            "percentage": progress["percentage"],
            "successful_fits": int(counters.get("successful_fits", 0)),
            "failed_fits": int(counters.get("failed_fits", 0)),
            "average_r_squared": counters.get("average_r_squared"),
            "estimated_remaining": progress["estimated_remaining"],
        },
        "message": job.message,
        "current_params": {
            "model_type": job.labels.get("model_type"),
            "convergence_rate": counters.get("convergence_rate"),
        },
        "error": record["error"],
        "created_at": record["created_at"],
        "started_at": record["started_at"],
        "updated_at": record["updated_at"],
        "finished_at": record["finished_at"],
    }


class CellFitPlot(BaseModel):
    png: bytes
    success: bool
    r_squared: float


# The client --------------------------------------------------------------------------


class AnalysisClient(JobsClient):
    """Every analysis RPC the edge makes, its fitting jobs' included. Failures are
    `BackendError` (edge/errors.py answers them for REST, edge/mcp_server.py for MCP)."""

    service = "analysis"

    async def models(self) -> list[dict[str, Any]]:
        backend = self._backend
        response = await backend.unary(backend.stub.ListModels, pb.ListModelsRequest())
        return [model_json(model) for model in response.models]

    async def load_traces(self, body: LoadTracesBody) -> dict[str, Any]:
        backend = self._backend
        request = pb.LoadTracesRequest(
            csv_path=body.csv_path,
            options=body.options.message(),
            include_bad_cells=body.include_bad_cells,
        )
        return to_json(await backend.unary(backend.stub.LoadTraces, request))

    async def start_fitting(self, body: StartFittingBody) -> JobStarted:
        """The job started; its `message` is the service's (empty if it said none)."""
        options = body.options
        request = pb.StartFittingRequest(
            csv_path=body.csv_path,
            model_type=body.model_type,
            model_params=body.model_params,
            model_bounds={
                name: pb.Range(min=low, max=high) for name, (low, high) in body.model_bounds.items()
            },
            options=pb.FittingOptions(
                good_fits_only=options.good_fits_only,
                include_bad_cells=options.include_bad_cells,
                parallel=options.parallel,
                n_workers=options.n_workers or 0,
                columns=options.columns.message(),
            ),
        )
        backend = self._backend
        return JobStarted.of(await backend.unary(backend.stub.StartFitting, request))

    async def results(self, job_id: str) -> dict[str, Any]:
        backend = self._backend
        request = pb.GetFittingResultsRequest(job_id=job_id)
        return to_json(await backend.unary(backend.stub.GetFittingResults, request))

    async def cell_fit_plot(self, job_id: str, cell: int, fov: int = 0) -> CellFitPlot:
        backend = self._backend
        request = pb.PlotCellFitRequest(job_id=job_id, fov=fov, cell=cell)
        response = await backend.unary(backend.stub.PlotCellFit, request)
        return CellFitPlot(png=response.png, success=response.success, r_squared=response.r_squared)

    async def parameter_histogram(self, job_id: str, parameter: str, bins: int = 30) -> bytes:
        backend = self._backend
        request = pb.PlotParameterHistogramRequest(job_id=job_id, parameter=parameter, bins=bins)
        return (await backend.unary(backend.stub.PlotParameterHistogram, request)).png

    # The fitted-results explorer: one or more jobs, one per sample.

    async def fitted_cells(
        self,
        job_ids: list[str],
        where: FittedCellFilter,
        sort_by: str = "",
        descending: bool = False,
        offset: int = 0,
        limit: int = 100,
    ) -> dict[str, Any]:
        backend = self._backend
        request = pb.GetFittedCellsRequest(
            job_ids=job_ids,
            filter=where.message(),
            sort_by=sort_by,
            descending=descending,
            offset=offset,
            limit=limit,
        )
        return to_json(await backend.unary(backend.stub.GetFittedCells, request))

    async def fitted_cells_csv(self, job_ids: list[str], where: FittedCellFilter) -> FittedCellsCsv:
        backend = self._backend
        request = pb.ExportFittedCellsRequest(job_ids=job_ids, filter=where.message())
        response = await backend.unary(backend.stub.ExportFittedCells, request)
        return FittedCellsCsv(csv=response.csv, rows=response.rows)

    async def sample_histograms(
        self, job_ids: list[str], parameter: str, where: FittedCellFilter, bins: int = 30
    ) -> bytes:
        backend = self._backend
        request = pb.PlotSampleHistogramsRequest(
            job_ids=job_ids, parameter=parameter, filter=where.message(), bins=bins
        )
        return (await backend.unary(backend.stub.PlotSampleHistograms, request)).png

    async def parameter_scatter(
        self, job_ids: list[str], x: str, y: str, where: FittedCellFilter
    ) -> ParameterScatter:
        backend = self._backend
        request = pb.PlotParameterScatterRequest(job_ids=job_ids, x=x, y=y, filter=where.message())
        response = await backend.unary(backend.stub.PlotParameterScatter, request)
        return ParameterScatter(png=response.png, n_cells=response.n_cells)


# The fitted-results explorer (issue 21) -----------------------------------------------


class FittedCellFilter(BaseModel):
    """Which fitted cells to keep."""

    min_r_squared: float | None = Field(None, ge=0, le=1, description="r² at least this")
    good_only: bool = Field(False, description="Only cells flagged good in the traces now")
    successful_only: bool = Field(False, description="Only successful fits")
    sample: str = Field("", description="Only this sample")

    def message(self) -> pb.FittedCellFilter:
        return pb.FittedCellFilter(**self.model_dump(exclude_none=True))


class FittedCellsCsv(BaseModel):
    csv: str
    rows: int


class ParameterScatter(BaseModel):
    png: bytes
    n_cells: int
