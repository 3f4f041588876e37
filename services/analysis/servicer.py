"""gRPC servicer of the analysis service: translates protos to the domain core and back.

Blocking work (CSV parsing, fitting, drawing) runs on the service's workers;
job RPCs (GetJob, ListJobs, CancelJob, WatchJob) come from the mixin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from grpc import aio

from common import errors
from common.jobs.rpc import JobsServicerMixin, job_to_proto
from common.jobs.runner import JobRunner
from micrographia.analysis.v1 import analysis_pb2 as pb
from micrographia.analysis.v1 import analysis_pb2_grpc
from services.analysis import messages
from services.analysis.core import explorer, plots
from services.analysis.core.models import MODELS, get_model
from services.analysis.core.traces import summarize
from services.analysis.fitting_jobs import ESTIMATED_CELLS_PER_S, FittingJobs, FittingRequest


class AnalysisServicer(JobsServicerMixin, analysis_pb2_grpc.AnalysisServiceServicer):
    service_name = "analysis"

    def __init__(self, jobs: JobRunner, fitting: FittingJobs) -> None:
        self.jobs = jobs
        self.fitting = fitting
        self._models = pb.ListModelsResponse(
            models=[messages.model_message(model) for model in MODELS.values()]
        )

    async def ListModels(self, request: pb.ListModelsRequest, context: aio.ServicerContext):
        return self._models

    async def LoadTraces(self, request: pb.LoadTracesRequest, context: aio.ServicerContext):
        columns = messages.columns_of(request.options)
        traces = await self.fitting.workers.run(
            self.fitting.load, request.csv_path, columns, False, request.include_bad_cells
        )
        return messages.summary_message(summarize(traces))

    async def StartFitting(self, request: pb.StartFittingRequest, context: aio.ServicerContext):
        job, n_cells = await self.fitting.start(messages.fitting_request(request))
        return pb.StartFittingResponse(
            job_id=job.id,
            message=f"Fitting analysis started: {n_cells} cells, model {request.model_type}",
            estimated_duration_s=round(1.0 + n_cells / ESTIMATED_CELLS_PER_S, 1),
            job=job_to_proto(job, self.service_name),
        )

    async def GetFittingResults(
        self, request: pb.GetFittingResultsRequest, context: aio.ServicerContext
    ):
        job = await self.fitting.completed(request.job_id)
        return messages.results_message(job.id, job.result or {})

    async def PlotCellFit(self, request: pb.PlotCellFitRequest, context: aio.ServicerContext):
        job = await self.fitting.completed(request.job_id)
        return await self.fitting.workers.run(self._plot_cell, job, request.fov, request.cell)

    def _plot_cell(self, job, fov: int, cell: int) -> pb.PlotCellFitResponse:
        fitted = FittingRequest.from_params(job.params)
        model = get_model(fitted.model_type)
        # Every row of the cell, even if it was marked bad after fitting.
        traces = self.fitting.load(fitted.csv_path, fitted.columns, False, True)
        row = traces.row_of(fov, cell)
        table = self.fitting.results_table(job)
        match = table[(table["fov"] == fov) & (table["cell"] == cell)]
        if match.empty:
            raise errors.InvalidArgument(f"no fit for cell {cell} in FOV {fov}", fov=fov, cell=cell)
        record = match.iloc[0]
        success = bool(record["success"])
        params = np.array([record[name] for name in model.parameter_names], dtype=np.float64)
        r2 = float(record["r_squared"])
        png = plots.cell_plot(
            model,
            traces.times[row],
            traces.values[row],
            params if success else None,
            title=f"FOV {fov}, cell {cell}",
            time_units=traces.time_units,
            r_squared=r2 if success else None,
        )
        named = dict(zip(model.parameter_names, params.tolist(), strict=True)) if success else {}
        return pb.PlotCellFitResponse(png=png, success=success, r_squared=r2, parameters=named)

    async def PlotParameterHistogram(
        self, request: pb.PlotParameterHistogramRequest, context: aio.ServicerContext
    ):
        job = await self.fitting.completed(request.job_id)
        return await self.fitting.workers.run(
            self._histogram, job, request.parameter, request.bins or 30
        )

    def _histogram(self, job, parameter: str, bins: int) -> pb.PlotParameterHistogramResponse:
        model = get_model(job.result["model_type"])
        if parameter not in model.parameter_names:
            raise errors.InvalidArgument(
                f"unknown parameter {parameter!r} of model {model.name!r}; its parameters are: "
                f"{', '.join(model.parameter_names)}",
                field="parameter",
            )
        if not 1 <= bins <= 500:
            raise errors.InvalidArgument(
                f"bins must be between 1 and 500, not {bins}", field="bins"
            )
        table = self.fitting.results_table(job)
        values = table.loc[table["success"].astype(bool), parameter].to_numpy(dtype=np.float64)
        png = plots.histogram(values, parameter=parameter, model_type=model.name, bins=bins)
        return pb.PlotParameterHistogramResponse(png=png, n_cells=int(np.isfinite(values).sum()))

    # ------------------------------------------------------------ results explorer

    async def _fitted(self, job_ids, message_filter: pb.FittedCellFilter):
        """The jobs' fitted cells after the filter, and their parameter names."""
        if not job_ids:
            raise errors.InvalidArgument("name at least one fitting job", field="job_ids")
        if len(job_ids) > 20:
            raise errors.InvalidArgument("compare at most 20 jobs at once", field="job_ids")
        sources = []
        for job_id in dict.fromkeys(job_ids):
            job = await self.fitting.completed(job_id)
            request = FittingRequest.from_params(job.params)
            sources.append(
                explorer.FittedSource(
                    job_id=job.id,
                    csv_path=Path(request.csv_path),
                    results_file=Path(job.result["results_file"]),
                    model_type=job.result["model_type"],
                    columns=request.columns,
                )
            )
        names = get_model(sources[0].model_type).parameter_names
        spec = messages.cell_filter(message_filter)

        def read():
            for source in sources:
                if not source.results_file.is_file():
                    raise errors.NotFound(
                        f"results file {source.results_file.name} of job {source.job_id} "
                        "no longer exists",
                        code=errors.FILE_NOT_FOUND,
                    )
            table = explorer.fitted_cells(sources, names)
            return table, explorer.filter_cells(table, spec)

        table, kept = await self.fitting.workers.run(read)
        return sources, names, table, kept

    async def GetFittedCells(self, request: pb.GetFittedCellsRequest, context: aio.ServicerContext):
        if request.offset < 0 or not 0 <= request.limit <= 10000:
            raise errors.InvalidArgument(
                "offset must be >= 0 and limit between 0 and 10000", field="limit"
            )
        sources, names, table, kept = await self._fitted(request.job_ids, request.filter)
        ordered = explorer.sort_cells(kept, request.sort_by, request.descending, names)
        page = ordered.iloc[request.offset : request.offset + (request.limit or 100)]
        return messages.fitted_cells_message(sources, names, table, kept, page)

    async def ExportFittedCells(
        self, request: pb.ExportFittedCellsRequest, context: aio.ServicerContext
    ):
        _, names, _, kept = await self._fitted(request.job_ids, request.filter)
        ordered = explorer.sort_cells(kept, "", False, names)
        text = await self.fitting.workers.run(explorer.to_csv, ordered)
        return pb.ExportFittedCellsResponse(csv=text, rows=len(ordered))

    async def PlotSampleHistograms(
        self, request: pb.PlotSampleHistogramsRequest, context: aio.ServicerContext
    ):
        bins = request.bins or 30
        if not 1 <= bins <= 500:
            raise errors.InvalidArgument(
                f"bins must be between 1 and 500, not {bins}", field="bins"
            )
        sources, names, _, kept = await self._fitted(request.job_ids, request.filter)
        values = explorer.parameter_values(kept, [request.parameter], names)
        png = await self.fitting.workers.run(
            lambda: plots.sample_histograms(
                {sample: pair[0] for sample, pair in values.items()},
                parameter=request.parameter,
                model_type=sources[0].model_type,
                bins=bins,
            )
        )
        counts = {sample: int(np.isfinite(pair[0]).sum()) for sample, pair in values.items()}
        return pb.PlotSampleHistogramsResponse(png=png, n_cells=counts)

    async def PlotParameterScatter(
        self, request: pb.PlotParameterScatterRequest, context: aio.ServicerContext
    ):
        sources, names, _, kept = await self._fitted(request.job_ids, request.filter)
        values = explorer.parameter_values(kept, [request.x, request.y], names)
        png = await self.fitting.workers.run(
            lambda: plots.parameter_scatter(
                {sample: (pair[0], pair[1]) for sample, pair in values.items()},
                x=request.x,
                y=request.y,
                model_type=sources[0].model_type,
            )
        )
        drawn = sum(
            int((np.isfinite(pair[0]) & np.isfinite(pair[1])).sum()) for pair in values.values()
        )
        return pb.PlotParameterScatterResponse(png=png, n_cells=drawn)
