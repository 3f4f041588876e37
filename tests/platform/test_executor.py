"""CPU work goes to a local process pool, or to a Dask cluster through the same
`concurrent.futures.Executor` interface when a scheduler address is set."""

from __future__ import annotations

import os

import pytest

from common.executor import make_executor


def square_in_worker(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def test_local_process_pool_runs_work_in_other_processes():
    executor = make_executor(n_workers=2)
    try:
        results = list(executor.map(square_in_worker, range(6)))
    finally:
        executor.shutdown()
    assert [square for square, _ in results] == [0, 1, 4, 9, 16, 25]
    assert all(pid != os.getpid() for _, pid in results)


@pytest.mark.slow
def test_dask_scheduler_address_gives_the_same_interface():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        executor = make_executor(scheduler_address=cluster.scheduler_address)
        try:
            future = executor.submit(square_in_worker, 7)
            assert future.result(timeout=30)[0] == 49
            assert [r[0] for r in executor.map(square_in_worker, [2, 3])] == [4, 9]
        finally:
            executor.shutdown()
