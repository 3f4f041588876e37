"""Scale: the same fit on a local process pool of two workers and on a Dask
LocalCluster of two worker processes gives identical results, bit for bit."""

from __future__ import annotations

import os
from concurrent.futures import Executor

import numpy as np
import pytest

from common.executor import make_executor
from services.analysis.core.fitting import chunks, concatenate, fit_chunk
from services.analysis.core.plan import plan_fit
from services.analysis.core.solver import CellFits
from tests.analysis.synthetic import TIMES, maturation_traces
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

N_CELLS = 2_000
CHUNK = 250


def fit_on(executor: Executor, values: np.ndarray) -> CellFits:
    """The fitting job's split: one task per chunk, results in chunk order."""
    plan = plan_fit("maturation")
    times = np.broadcast_to(TIMES, values.shape)
    pieces = list(chunks(values.shape[0], CHUNK))
    try:
        futures = [
            executor.submit(
                fit_chunk,
                plan.model.name,
                plan.start,
                plan.lower,
                plan.upper,
                plan.free,
                np.ascontiguousarray(times[p.start : p.stop]),
                values[p.start : p.stop],
            )
            for p in pieces
        ]
        return concatenate([future.result(timeout=300) for future in futures])
    finally:
        executor.shutdown()


def test_dask_cluster_and_process_pool_give_identical_fits(monkeypatch):
    distributed = pytest.importorskip("distributed")
    _, values = maturation_traces(N_CELLS, seed=7)
    values[::97, ::5] = np.nan  # gaps, as real traces have
    pool = fit_on(make_executor(n_workers=2), values)

    # Dask's worker processes import the project by PYTHONPATH, as on a real cluster.
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client=client) as stream,
    ):
        dask = fit_on(make_executor(scheduler_address=cluster.scheduler_address), values)
    ran_on = {task["worker"] for task in stream.data if task["key"].startswith("fit_chunk")}
    assert len(ran_on) == 2  # both worker processes took chunks: the work was spread
    assert pool.success.mean() > 0.95  # a real fit, not a table of failures
    for field in ("params", "ssr", "n_points", "status", "iterations"):
        np.testing.assert_array_equal(getattr(dask, field), getattr(pool, field), err_msg=field)
