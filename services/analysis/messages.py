"""The analysis core's records as analysis.proto messages, and requests as core inputs."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from micrographia.analysis.v1 import analysis_pb2 as pb
from services.analysis.core.explorer import CellFilter, FittedSource
from services.analysis.core.models import FitModel
from services.analysis.core.traces import TraceColumns, TraceSummary
from services.analysis.fitting_jobs import FittingRequest


def model_message(model: FitModel) -> pb.FitModel:
    return pb.FitModel(
        name=model.name,
        description=model.description,
        equation=model.equation,
        parameters=[
            pb.ModelParameter(
                name=p.name,
                symbol=p.symbol,
                default=p.default,
                bounds=pb.Range(min=p.bounds[0], max=p.bounds[1]),
                description=p.description,
                fixed=p.fixed,
            )
            for p in model.parameters
        ],
    )


def columns_of(message: pb.TraceColumns) -> TraceColumns:
    return TraceColumns.of(
        message.time_column, message.value_column, message.cell_column, message.fov_column
    )


def summary_message(summary: TraceSummary) -> pb.LoadTracesResponse:
    return pb.LoadTracesResponse(
        n_cells=summary.n_cells,
        n_timepoints=summary.n_timepoints,
        n_fovs=summary.n_fovs,
        time_units=summary.time_units,
        columns=summary.columns,
        time_range=pb.Range(min=summary.time_range[0], max=summary.time_range[1]),
        value_range=pb.Range(min=summary.value_range[0], max=summary.value_range[1]),
        summary=pb.TraceSummary(
            mean_trace_count_per_cell=summary.mean_trace_count_per_cell,
            cells_with_gaps=summary.cells_with_gaps,
            total_observations=summary.total_observations,
            excluded_cells=summary.excluded_cells,
        ),
    )


def fitting_request(request: pb.StartFittingRequest) -> FittingRequest:
    options = request.options
    return FittingRequest(
        csv_path=request.csv_path,
        model_type=request.model_type,
        model_params=dict(request.model_params),
        model_bounds={name: (r.min, r.max) for name, r in request.model_bounds.items()},
        columns=columns_of(options.columns),
        good_fits_only=options.good_fits_only,
        parallel=options.parallel,
        n_workers=max(0, options.n_workers),
        include_bad_cells=options.include_bad_cells,
    )


def results_message(job_id: str, result: dict[str, Any]) -> pb.GetFittingResultsResponse:
    return pb.GetFittingResultsResponse(
        job_id=job_id,
        results_file=result["results_file"],
        summary=pb.FitSummary(**result["summary"]),
        model_type=result["model_type"],
        parameters=[pb.ParameterStats(**stats) for stats in result["parameters"]],
        quality_distribution=pb.QualityDistribution(**result["quality_distribution"]),
    )


def cell_filter(message: pb.FittedCellFilter) -> CellFilter:
    return CellFilter(
        min_r_squared=message.min_r_squared if message.HasField("min_r_squared") else None,
        good_only=message.good_only,
        successful_only=message.successful_only,
        sample=message.sample,
    )


def fitted_cells_message(
    sources: list[FittedSource],
    names: tuple[str, ...],
    table: pd.DataFrame,
    kept: pd.DataFrame,
    page: pd.DataFrame,
) -> pb.GetFittedCellsResponse:
    counts = kept["sample"].value_counts()
    samples = list(dict.fromkeys(table["sample"]))
    return pb.GetFittedCellsResponse(
        model_type=sources[0].model_type,
        parameter_names=names,
        total_cells=len(kept),
        cells=[
            pb.FittedCell(
                sample=row["sample"],
                job_id=row["job_id"],
                fov=int(row["fov"]),
                cell=int(row["cell"]),
                success=bool(row["success"]),
                r_squared=float(row["r_squared"]),
                good=bool(row["good"]),
                # A failed fit has no parameters (NaN is no JSON number).
                parameters={
                    name: float(row[name]) for name in names if math.isfinite(float(row[name]))
                },
            )
            for _, row in page.iterrows()
        ],
        samples=[
            pb.SampleSummary(
                name=name,
                job_id=source.job_id,
                csv_path=str(source.csv_path),
                n_cells=int(counts.get(name, 0)),
            )
            for source, name in zip(sources, samples, strict=True)
        ],
    )
