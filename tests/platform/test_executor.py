"""CPU work goes to a local process pool, or to a Dask cluster through the same
`concurrent.futures.Executor` interface when a scheduler address is set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from common.executor import make_executor

ROOT = Path(__file__).resolve().parents[2]


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


_SERVICE_WITH_POOLS = """
import os, sys, time
import psutil
from common.executor import make_executor
from services.inference.core.segmentation import postprocess_pool

if __name__ == "__main__":
    pool = make_executor(n_workers=2)
    list(pool.map(abs, range(4)))  # the workers are up
    post = postprocess_pool(1)
    descendants = psutil.Process().children(recursive=True)
    print(" ".join(str(p.pid) for p in descendants), flush=True)
    time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_pool_workers_die_with_their_service():
    """kill -9 of a service leaves none of its pools' processes behind: workers,
    forkserver and resource tracker all end within seconds."""
    service = subprocess.Popen(
        [sys.executable, "-c", _SERVICE_WITH_POOLS],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        descendants = [int(pid) for pid in service.stdout.readline().split()]
        # two workers, the forkserver and its worker, at least one resource tracker
        assert len(descendants) >= 5
    finally:
        service.kill()
        service.wait(10)
    deadline = time.monotonic() + 15
    left = descendants
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [pid for pid in descendants if not _gone(pid)]
    for pid in left:  # this test's own leftovers, not to outlive the test run
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the service died: {left}"
