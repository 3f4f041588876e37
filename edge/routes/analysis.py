"""/api/analysis: fitting models, trace loading and fitting jobs
(pyama-api.md, "Analysis Endpoints")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from edge.dependencies import BackendsDep
from edge.envelope import ok
from edge.fields import Int32, Int64, RequestModel
from edge.jobs_json import job_json, job_status
from edge.openapi import PydanticJSONResponse, binary_body, json_body, proto_body
from edge.protojson import json_schema, to_json
from edge.routes.job_routes import (
    JOB_STARTED,
    JOB_STATUS,
    JobError,
    add_job_routes,
    job_started,
)
from micrographia.analysis.v1 import analysis_pb2 as pb
from micrographia.common.v1 import common_pb2

router = APIRouter(prefix="/api/analysis", tags=["analysis"])


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


# Response bodies, fields in the order the functions below write them ------------------


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


def _range(bounds: pb.Range) -> list[float]:
    return [bounds.min, bounds.max]


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
                "bounds": _range(parameter.bounds),
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


@router.get(
    "/models",
    summary="Fitting models and their parameters",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(model_schema(), many=True, enveloped=True),
)
async def models(backends: BackendsDep) -> dict[str, Any]:
    response = await backends.analysis.ListModels(pb.ListModelsRequest())
    return ok([model_json(model) for model in response.models])


@router.post(
    "/load-traces",
    summary="Load and validate a trace CSV",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.LoadTracesResponse, enveloped=True),
)
async def load_traces(body: LoadTracesBody, backends: BackendsDep) -> dict[str, Any]:
    request = pb.LoadTracesRequest(
        csv_path=body.csv_path,
        options=body.options.message(),
        include_bad_cells=body.include_bad_cells,
    )
    response = await backends.analysis.LoadTraces(request)
    return ok(to_json(response))


@router.post("/fitting/start", summary="Start fitting a model to every cell", **JOB_STARTED)
async def start_fitting(body: StartFittingBody, backends: BackendsDep) -> dict[str, Any]:
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
            parallel=options.parallel,
            n_workers=options.n_workers or 0,
            columns=options.columns.message(),
            include_bad_cells=options.include_bad_cells,
        ),
    )
    response = await backends.analysis.StartFitting(request)
    return job_started(response, "Fitting analysis started")


add_job_routes(
    router,
    prefix="/fitting",
    service="analysis",
    noun="fitting",
    status_json=fitting_status_json,
    status_model=FittingStatus,
)


@router.get(
    "/fitting/results/{job_id}",
    summary="Results of a completed fitting job",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetFittingResultsResponse, enveloped=True),
)
async def fitting_results(job_id: str, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.analysis.GetFittingResults(pb.GetFittingResultsRequest(job_id=job_id))
    return ok(to_json(response))


@router.get(
    "/fitting/plot/{job_id}",
    summary="One cell's data with its fitted curve, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def fitting_plot(
    job_id: str,
    backends: BackendsDep,
    cell: Annotated[Int64, Query(description="Cell id within its FOV")],
    fov: Annotated[Int64, Query(description="FOV of the cell")] = 0,
) -> Response:
    request = pb.PlotCellFitRequest(job_id=job_id, fov=fov, cell=cell)
    response = await backends.analysis.PlotCellFit(request)
    return Response(
        response.png,
        media_type="image/png",
        headers={
            "X-Fit-Success": str(response.success).lower(),
            "X-R-Squared": repr(response.r_squared),
        },
    )


@router.get(
    "/fitting/histogram/{job_id}",
    summary="Histogram of one fitted parameter over the cells, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def fitting_histogram(
    job_id: str,
    backends: BackendsDep,
    parameter: Annotated[str, Query(min_length=1, description="Parameter name, e.g. rate")],
    bins: Annotated[int, Query(ge=1, le=500, description="Number of bins")] = 30,
) -> Response:
    request = pb.PlotParameterHistogramRequest(job_id=job_id, parameter=parameter, bins=bins)
    response = await backends.analysis.PlotParameterHistogram(request)
    return Response(response.png, media_type="image/png")
