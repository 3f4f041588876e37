"""Fitting as durable jobs: validation before the job exists, the work, its
progress and cancellation, results, and resumption after a restart.

Everything that blocks (parsing the CSV, fitting, writing, drawing) runs on
the service's worker threads or its process pool, never on the event loop.
The job's params hold the whole request, so a job interrupted by a crash is
run again from them by whichever process recovers it (fitting is idempotent:
the results file is replaced in one rename).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from common import errors
from common.executor import make_executor
from common.fanout import fan_out
from common.jobs import JobContext, JobRecord, JobRunner, JobStatus
from common.paths import DataRoots
from common.workers import Workers
from services.analysis.core.fitting import Tally, chunks, concatenate, fit_chunk, table_of
from services.analysis.core.plan import FitPlan, plan_fit
from services.analysis.core.results import (
    read_results,
    results_path,
    summarize_results,
    write_results,
)
from services.analysis.core.solver import CellFits
from services.analysis.core.traces import TraceCache, TraceColumns, Traces
from services.analysis.settings import AnalysisSettings

JOB_TYPE = "fitting"
# A rough figure for the estimate in the start answer (cells per second).
ESTIMATED_CELLS_PER_S = 20000.0


@dataclass(frozen=True)
class FittingRequest:
    """A validated request, as stored in the job's params."""

    csv_path: str
    model_type: str
    model_params: dict[str, float]
    model_bounds: dict[str, tuple[float, float]]
    columns: TraceColumns
    good_fits_only: bool
    parallel: bool
    n_workers: int
    include_bad_cells: bool = False  # cells marked bad are left out unless this is set

    def to_params(self) -> dict[str, Any]:
        return {
            "csv_path": self.csv_path,
            "model_type": self.model_type,
            "model_params": self.model_params,
            "model_bounds": {name: list(pair) for name, pair in self.model_bounds.items()},
            "columns": {
                "time": self.columns.time,
                "value": self.columns.value,
                "cell": self.columns.cell,
                "fov": self.columns.fov,
            },
            "options": {
                "good_fits_only": self.good_fits_only,
                "parallel": self.parallel,
                "n_workers": self.n_workers,
                "include_bad_cells": self.include_bad_cells,
            },
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> FittingRequest:
        options = params["options"]
        return cls(
            csv_path=params["csv_path"],
            model_type=params["model_type"],
            model_params=dict(params["model_params"]),
            model_bounds={
                name: (low, high) for name, (low, high) in params["model_bounds"].items()
            },
            columns=TraceColumns(**params["columns"]),
            good_fits_only=options["good_fits_only"],
            parallel=options["parallel"],
            n_workers=options["n_workers"],
            include_bad_cells=options.get("include_bad_cells", False),
        )

    def plan(self) -> FitPlan:
        return plan_fit(self.model_type, self.model_params, self.model_bounds)


class FittingJobs:
    """Starts fitting jobs on a `JobRunner` and answers for their results."""

    def __init__(
        self,
        roots: DataRoots,
        workers: Workers,
        settings: AnalysisSettings,
        dask_scheduler: str | None = None,
    ) -> None:
        self.roots = roots
        self.workers = workers
        self.settings = settings
        self.traces = TraceCache(settings.trace_cache_size)
        self._dask_scheduler = dask_scheduler
        self._pool: Executor | None = None
        self._pool_workers = settings.pool_workers or max(1, (os.cpu_count() or 2) - 1)
        self.runner: JobRunner | None = None

    # ------------------------------------------------------------ paths and traces

    def resolve_csv(self, csv_path: str) -> Path:
        """The CSV's real path inside the data roots (403 outside, 404 missing, 400 a folder)."""
        if not csv_path:
            raise errors.InvalidArgument("csv_path is required", field="csv_path")
        path = self.roots.resolve(csv_path)
        if not path.is_file():
            raise errors.InvalidArgument(f"{csv_path} is not a file", field="csv_path")
        return path

    def load(
        self,
        csv_path: str,
        columns: TraceColumns,
        good_only: bool = False,
        include_bad: bool = False,
    ) -> Traces:
        """Blocking: resolve and parse (cached); cells marked bad left out unless `include_bad`."""
        return self.traces.read(self.resolve_csv(csv_path), columns, good_only, include_bad)

    def load_for(self, request: FittingRequest) -> Traces:
        """Blocking: the traces a fitting request fits."""
        return self.load(
            request.csv_path, request.columns, request.good_fits_only, request.include_bad_cells
        )

    # ------------------------------------------------------------ jobs

    async def start(self, request: FittingRequest) -> tuple[JobRecord, int]:
        """Validate everything (model, parameters, bounds, path, CSV), then submit."""
        request.plan()  # raises on an unknown model, parameter or bad bounds
        traces = await self.workers.run(self.load_for, request)
        # The job keeps the real path: a resumed job reads the same file.
        request = replace(request, csv_path=str(traces.path))
        assert self.runner is not None
        job = await self.runner.submit(
            JOB_TYPE,
            self.work,
            params=request.to_params(),
            labels={"model_type": request.model_type, "csv_path": str(traces.path)},
        )
        return job, traces.n_cells

    async def work(self, job: JobContext) -> dict[str, Any]:
        """The job: fit every cell in chunks, report after each, write the results."""
        request = FittingRequest.from_params(job.params)
        plan = request.plan()
        traces = await self.workers.run(self.load_for, request)
        total = traces.n_cells
        await job.report(current=0, total=total, message=f"Fitting {total} cells", force=True)
        parts, tally = await self._fit(job, plan, traces, request)
        table = table_of(plan, traces.fov, traces.cell, traces.values, concatenate(parts))
        destination = results_path(traces.path, plan.model.name, job.job_id)
        await self.workers.run(write_results, table, destination)
        result = summarize_results(table)
        await job.report(
            current=total, counters=tally.counters(), message="Fitting done", force=True
        )
        return {"results_file": str(destination), "model_type": plan.model.name, **result}

    async def _fit(
        self, job: JobContext, plan: FitPlan, traces: Traces, request: FittingRequest
    ) -> tuple[list[CellFits], Tally]:
        """Every chunk, at most a few at once (on the pool, or on worker threads:
        the compiled solver releases the GIL); progress after each."""
        pieces = list(chunks(traces.n_cells, self.settings.chunk_cells))
        arguments = [
            (
                plan.model.name,
                plan.start,
                plan.lower,
                plan.upper,
                plan.free,
                traces.times[c.start : c.stop],
                traces.values[c.start : c.stop],
            )
            for c in pieces
        ]
        if request.parallel and traces.n_cells >= self.settings.pool_min_cells:
            pool = self._executor()
            limit = request.n_workers or self._pool_workers

            def run(args: tuple) -> Awaitable[CellFits]:
                return asyncio.get_running_loop().run_in_executor(pool, fit_chunk, *args)
        else:
            # One thread is left for the service's other blocking calls.
            threads = max(1, self.settings.worker_threads - 1)
            limit = min(request.n_workers or threads, threads) if request.parallel else 1

            def run(args: tuple) -> Awaitable[CellFits]:
                return self.workers.run(fit_chunk, *args)

        done_cells = 0
        tally = Tally()

        async def report(batch: list[tuple[int, CellFits]]) -> None:
            nonlocal done_cells
            for index, fits in batch:
                done_cells += pieces[index].stop - pieces[index].start
                tally.add(arguments[index][-1], fits)
            await job.report(
                current=done_cells,
                counters=tally.counters(),
                message=f"Fitting cell {done_cells}/{traces.n_cells}",
            )

        results = await fan_out(arguments, run, limit, on_finished=report)
        return results, tally

    def _executor(self) -> Executor:
        """The process pool (or Dask), started at the first job that needs it and kept:
        its workers compile each model once."""
        if self._pool is None:
            self._pool = make_executor(
                self._pool_workers, self._dask_scheduler, (fit_chunk.__module__,)
            )
        return self._pool

    # ------------------------------------------------------------ results

    async def completed(self, job_id: str) -> JobRecord:
        """The job, which must be a completed fitting job."""
        assert self.runner is not None
        job = await self.runner.store.get(job_id)
        if job.type != JOB_TYPE:
            raise errors.NotFound(f"Job {job_id} is not a fitting job", code=errors.JOB_NOT_FOUND)
        if job.status is not JobStatus.COMPLETED:
            raise errors.FailedPrecondition(
                f"Fitting job {job_id} is {job.status.value}, not completed",
                status=job.status.value,
            )
        return job

    def results_table(self, job: JobRecord):
        """Blocking: the job's results CSV as a DataFrame."""
        path = Path(job.result["results_file"])
        if not path.is_file():
            raise errors.NotFound(
                f"results file {path.name} of job {job.id} no longer exists",
                code=errors.FILE_NOT_FOUND,
            )
        return read_results(path)

    def close(self) -> None:
        if self._pool is not None:
            with contextlib.suppress(Exception):
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
