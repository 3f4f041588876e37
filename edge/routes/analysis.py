"""/api/analysis: fitting models, trace loading and fitting jobs
(pyama-api.md, "Analysis Endpoints"), over `AnalysisClient`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from edge.clients.analysis import (
    FittingStatus,
    LoadTracesBody,
    StartFittingBody,
    fitting_status_json,
    model_schema,
)
from edge.dependencies import ClientsDep
from edge.envelope import ok
from edge.fields import Int64
from edge.job_routes import JOB_STARTED, add_job_routes, job_started
from edge.openapi import PydanticJSONResponse, binary_body, json_body, proto_body
from micrographia.analysis.v1 import analysis_pb2 as pb

router = APIRouter(prefix="/api/analysis", tags=["analysis"])


@router.get(
    "/models",
    summary="Fitting models and their parameters",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(model_schema(), many=True, enveloped=True),
)
async def models(clients: ClientsDep) -> dict[str, Any]:
    return ok(await clients.analysis.models())


@router.post(
    "/load-traces",
    summary="Load and validate a trace CSV",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.LoadTracesResponse, enveloped=True),
)
async def load_traces(body: LoadTracesBody, clients: ClientsDep) -> dict[str, Any]:
    return ok(await clients.analysis.load_traces(body))


@router.post("/fitting/start", summary="Start fitting a model to every cell", **JOB_STARTED)
async def start_fitting(body: StartFittingBody, clients: ClientsDep) -> dict[str, Any]:
    return job_started(await clients.analysis.start_fitting(body), "Fitting analysis started")


add_job_routes(
    router,
    prefix="/fitting",
    jobs=lambda clients: clients.analysis,
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
async def fitting_results(job_id: str, clients: ClientsDep) -> dict[str, Any]:
    return ok(await clients.analysis.results(job_id))


@router.get(
    "/fitting/plot/{job_id}",
    summary="One cell's data with its fitted curve, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def fitting_plot(
    job_id: str,
    clients: ClientsDep,
    cell: Annotated[Int64, Query(description="Cell id within its FOV")],
    fov: Annotated[Int64, Query(description="FOV of the cell")] = 0,
) -> Response:
    plot = await clients.analysis.cell_fit_plot(job_id, cell, fov)
    return Response(
        plot.png,
        media_type="image/png",
        headers={"X-Fit-Success": str(plot.success).lower(), "X-R-Squared": repr(plot.r_squared)},
    )


@router.get(
    "/fitting/histogram/{job_id}",
    summary="Histogram of one fitted parameter over the cells, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def fitting_histogram(
    job_id: str,
    clients: ClientsDep,
    parameter: Annotated[str, Query(min_length=1, description="Parameter name, e.g. rate")],
    bins: Annotated[int, Query(ge=1, le=500, description="Number of bins")] = 30,
) -> Response:
    png = await clients.analysis.parameter_histogram(job_id, parameter, bins)
    return Response(png, media_type="image/png")
