"""/api/analysis/fitting/cells and /compare: the fitted-results explorer (issue 21),
over `AnalysisClient`.

The fitted cells of one or more completed fitting jobs (one job per sample) as a
filterable table, its CSV export, and pictures comparing samples: a parameter's
histogram per sample and a scatter of two parameters. Beyond pyama-api.md; the
shapes follow its envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from edge.clients.analysis import FittedCellFilter
from edge.dependencies import ClientsDep
from edge.envelope import ok
from edge.fields import Int32
from edge.openapi import PydanticJSONResponse, binary_body, proto_body
from micrographia.analysis.v1 import analysis_pb2 as pb

router = APIRouter(prefix="/api/analysis/fitting", tags=["analysis"])

JobIds = Annotated[
    list[str],
    Query(min_length=1, max_length=20, description="Completed fitting jobs, one per sample"),
]


@dataclass
class FilterQuery:
    """The table's filter, from the query string."""

    min_r_squared: Annotated[
        float | None, Query(ge=0, le=1, description="Keep fits with r² at least this")
    ] = None
    good_only: Annotated[bool, Query(description="Only cells flagged good in the traces")] = False
    successful_only: Annotated[bool, Query(description="Only successful fits")] = False
    sample: Annotated[str, Query(description="Only this sample")] = ""

    def model(self) -> FittedCellFilter:
        return FittedCellFilter(
            min_r_squared=self.min_r_squared,
            good_only=self.good_only,
            successful_only=self.successful_only,
            sample=self.sample,
        )


Filter = Annotated[FilterQuery, Depends()]


@router.get(
    "/cells",
    summary="Fitted cells of one or more jobs, filtered and paged",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetFittedCellsResponse, enveloped=True),
)
async def fitted_cells(
    clients: ClientsDep,
    job_ids: JobIds,
    where: Filter,
    sort_by: Annotated[
        str, Query(description="sample, fov, cell, r_squared, success, good or a parameter")
    ] = "",
    descending: bool = False,
    offset: Annotated[Int32, Query(ge=0)] = 0,
    limit: Annotated[Int32, Query(ge=1, le=10000)] = 100,
) -> dict[str, Any]:
    """Every parameter, r² and status of each cell, its sample (the job's traces file)
    and its `good` flag as the traces hold it now."""
    return ok(
        await clients.analysis.fitted_cells(
            job_ids, where.model(), sort_by, descending, offset, limit
        )
    )


@router.get(
    "/cells.csv",
    summary="The filtered table of fitted cells as CSV",
    response_class=Response,
    responses=binary_body("text/csv"),
)
async def fitted_cells_csv(clients: ClientsDep, job_ids: JobIds, where: Filter) -> Response:
    table = await clients.analysis.fitted_cells_csv(job_ids, where.model())
    return Response(
        table.csv,
        media_type="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="fitted_cells.csv"',
            "X-Rows": str(table.rows),
        },
    )


@router.get(
    "/compare/histogram",
    summary="Histogram of one parameter per sample, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def sample_histograms(
    clients: ClientsDep,
    job_ids: JobIds,
    where: Filter,
    parameter: Annotated[str, Query(min_length=1, description="Parameter name")],
    bins: Annotated[Int32, Query(ge=1, le=500)] = 30,
) -> Response:
    png = await clients.analysis.sample_histograms(job_ids, parameter, where.model(), bins)
    return Response(png, media_type="image/png")


@router.get(
    "/compare/scatter",
    summary="Scatter of two parameters, one colour per sample, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def parameter_scatter(
    clients: ClientsDep,
    job_ids: JobIds,
    where: Filter,
    x: Annotated[str, Query(min_length=1, description="Parameter on the x axis")],
    y: Annotated[str, Query(min_length=1, description="Parameter on the y axis")],
) -> Response:
    scatter = await clients.analysis.parameter_scatter(job_ids, x, y, where.model())
    return Response(scatter.png, media_type="image/png", headers={"X-Cells": str(scatter.n_cells)})
