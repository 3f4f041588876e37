"""Cells fitted per second: the compiled solver over all cells, next to the
reference way, one `scipy.optimize.least_squares` (TRF, bounds) call per cell.

10,000 cells x 181 points of `maturation` at SNR 20 (noise sd = amplitude/20).
The reference is timed on the first 1,000 cells (MICROGRAPHIA_BENCH_FIT_REFERENCE)
and its rate applies to all; the same cells tell the fraction that reaches the
reference's optimum (sum of squares at most 1e-6 relative above it). Ours runs
on one thread, and on a process pool of every core. Then the whole REST path:
the CSV written into a data root, POST /api/analysis/fitting/start on a real
edge and analysis service (separate processes), polled until the results file
is written.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from benchmarks import scaled
from benchmarks.processes import running
from benchmarks.report import report
from common.executor import make_executor
from common.settings import DEFAULT_DATABASE_URL
from services.analysis.core.fitting import chunks, concatenate, fit_all, fit_chunk
from services.analysis.core.models import MODELS
from services.analysis.core.plan import plan_fit

N_CELLS = int(os.environ.get("MICROGRAPHIA_BENCH_FIT_CELLS") or scaled(10000, 200))
REFERENCE_CELLS = int(os.environ.get("MICROGRAPHIA_BENCH_FIT_REFERENCE") or scaled(1000, 50))
TIMES = np.arange(181) / 6.0
CHUNK = 1000


def synthetic(n_cells: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.column_stack(
        [rng.uniform(1, 8, n_cells), rng.uniform(0.05, 0.8, n_cells), rng.uniform(-0.5, 2, n_cells)]
    )
    model = MODELS["maturation"]
    clean = np.stack([model.curve(TIMES, p) for p in truth])
    return truth, clean + rng.normal(0, 1, clean.shape) * (truth[:, :1] / 20)


def reference_fits(plan, values: np.ndarray) -> tuple[np.ndarray, float]:
    """SSR per cell and seconds, one least_squares call per cell."""
    model = plan.model
    started = time.perf_counter()
    ssr = np.empty(len(values))
    for row, y in enumerate(values):
        result = least_squares(
            lambda p, y=y: model.curve(TIMES, p) - y,
            plan.start,
            bounds=(plan.lower, plan.upper),
            method="trf",
        )
        ssr[row] = 2 * result.cost
    return ssr, time.perf_counter() - started


def pooled(plan, values: np.ndarray, workers: int) -> float:
    """Seconds to fit every cell on a process pool, chunks of CHUNK cells (pool warm)."""
    executor = make_executor(workers)
    try:
        args = (plan.model.name, plan.start, plan.lower, plan.upper, plan.free)
        warm = [executor.submit(fit_chunk, *args, TIMES, values[:8]) for _ in range(workers)]
        for future in warm:  # each worker imports and compiles once, off the clock
            future.result()
        started = time.perf_counter()
        futures = [
            executor.submit(fit_chunk, *args, TIMES, values[c.start : c.stop])
            for c in chunks(len(values), CHUNK)
        ]
        concatenate([future.result() for future in futures])
        return time.perf_counter() - started
    finally:
        executor.shutdown()


def rest_job(values: np.ndarray) -> tuple[float, float]:
    """(seconds from POST to the results file, seconds to write the CSV) via a real edge."""
    with tempfile.TemporaryDirectory(prefix="bench-fitting-") as folder:
        path = Path(folder) / "traces.csv"
        started = time.perf_counter()
        n_cells, n_points = values.shape
        pd.DataFrame(
            {
                "time": np.tile(TIMES, n_cells),
                "fov": 0,
                "cell": np.repeat(np.arange(n_cells), n_points),
                "value": values.ravel(),
            }
        ).to_csv(path, index=False)
        written = time.perf_counter() - started
        env = {
            "MICROGRAPHIA_DATABASE_URL": os.environ.get(
                "MICROGRAPHIA_DATABASE_URL", DEFAULT_DATABASE_URL
            ),
            "MICROGRAPHIA_DATA_ROOTS": folder,
        }
        with running(["analysis"], env) as base_url, httpx.Client(base_url=base_url) as edge:
            # Compile the model once in the service, off the clock (a running service has).
            small = Path(folder) / "warm.csv"
            pd.read_csv(path, nrows=181 * 4).to_csv(small, index=False)
            _run_job(edge, small)
            started = time.perf_counter()
            _run_job(edge, path)
            elapsed = time.perf_counter() - started
            # Each job's results are its own: <stem>_fitted_<model>_<job id>.csv.
            if not list(Path(folder).glob("traces_fitted_maturation_*.csv")):
                raise RuntimeError("the REST job wrote no results file")
        return elapsed, written


def _run_job(edge: httpx.Client, path: Path) -> None:
    body = {"csv_path": str(path), "model_type": "maturation"}
    response = edge.post("/api/analysis/fitting/start", json=body, timeout=120)
    response.raise_for_status()
    job_id = response.json()["data"]["job_id"]
    while True:
        status = edge.get(f"/api/analysis/fitting/status/{job_id}").json()["data"]["status"]
        if status == "completed":
            return
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"fitting job {job_id} {status}")
        time.sleep(0.02)


def main() -> None:
    _, values = synthetic(N_CELLS)
    plan = plan_fit("maturation")
    fit_all(plan, TIMES, values[:8])  # compile, off the clock

    started = time.perf_counter()
    ours = fit_all(plan, TIMES, values, CHUNK)
    ours_s = time.perf_counter() - started
    reference_ssr, reference_s = reference_fits(plan, values[:REFERENCE_CELLS])
    reference_rate = REFERENCE_CELLS / reference_s
    same = ours.ssr[:REFERENCE_CELLS] <= reference_ssr * (1 + 1e-6)
    lower = ours.ssr[:REFERENCE_CELLS] < reference_ssr * (1 - 1e-6)

    print(
        f"   {N_CELLS} cells x {TIMES.size} points; reference timed on {REFERENCE_CELLS} cells "
        f"({reference_s:.1f} s); {os.cpu_count()} CPUs",
        flush=True,
    )
    report("fitting maturation, 1 thread", N_CELLS / ours_s, reference_rate, "cells/s", ">= 100x")
    workers = os.cpu_count() or 1
    pool_s = pooled(plan, values, workers)
    report(f"fitting maturation, pool of {workers}", N_CELLS / pool_s, reference_rate, "cells/s")
    print(
        f"   same optimum as the reference: {same.mean():.2%} of {REFERENCE_CELLS} cells "
        f"(lower by > 1e-6 relative: {lower.sum()}); converged: {ours.success.mean():.2%}",
        flush=True,
    )
    elapsed, written = rest_job(values)
    report(
        "REST job end to end (CSV in, results out)", N_CELLS / elapsed, reference_rate, "cells/s"
    )
    print(
        f"   REST job: {elapsed:.2f} s for {N_CELLS} cells (writing the CSV: {written:.2f} s, "
        f"not counted); the reference loop alone: {N_CELLS / reference_rate:.1f} s",
        flush=True,
    )
