"""/api/analysis: fitting models, trace loading and fitting jobs
(pyama-api.md, "Analysis Endpoints")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from edge.dependencies import BackendsDep
from edge.envelope import ok
from edge.fields import Int32, RequestModel
from edge.jobs_json import job_json, job_status
from edge.protojson import to_json
from edge.routes.job_routes import JOB_STARTED, add_job_routes, job_started
from micrographia.analysis.v1 import analysis_pb2 as pb
from micrographia.common.v1 import common_pb2

router = APIRouter(prefix="/api/analysis", tags=["analysis"])


class ColumnsBody(RequestModel):
    time_column: str = "time"
    value_column: str = "value"
    cell_column: str = "cell"
    fov_column: str = "fov"


class LoadTracesBody(RequestModel):
    csv_path: str = Field(min_length=1)
    options: ColumnsBody = Field(default_factory=ColumnsBody)


class FittingOptionsBody(RequestModel):
    good_fits_only: bool = False
    parallel: bool = True
    n_workers: Int32 | None = Field(None, ge=1)
    columns: ColumnsBody = Field(default_factory=ColumnsBody)


class StartFittingBody(RequestModel):
    csv_path: str = Field(min_length=1)
    model_type: str = Field(min_length=1)
    model_params: dict[str, float] = Field(default_factory=dict)
    model_bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    options: FittingOptionsBody = Field(default_factory=FittingOptionsBody)


def _range(bounds: pb.Range) -> list[float]:
    return [bounds.min, bounds.max]


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


@router.get("/models", summary="Fitting models and their parameters")
async def models(backends: BackendsDep) -> dict[str, Any]:
    response = await backends.analysis.ListModels(pb.ListModelsRequest())
    return ok([model_json(model) for model in response.models])


@router.post("/load-traces", summary="Load and validate a trace CSV")
async def load_traces(body: LoadTracesBody, backends: BackendsDep) -> dict[str, Any]:
    request = pb.LoadTracesRequest(
        csv_path=body.csv_path, options=pb.TraceColumns(**body.options.model_dump())
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
            columns=pb.TraceColumns(**options.columns.model_dump()),
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
)


@router.get("/fitting/results/{job_id}", summary="Results of a completed fitting job")
async def fitting_results(job_id: str, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.analysis.GetFittingResults(pb.GetFittingResultsRequest(job_id=job_id))
    return ok(to_json(response))
