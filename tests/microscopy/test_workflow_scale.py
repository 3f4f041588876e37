"""Scale: the same plan on a local process pool of two workers and on a Dask
LocalCluster of two worker processes gives byte-identical traces."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from common.executor import make_executor
from services.microscopy.core import DataRoots, open_reader
from services.microscopy.core.workflow.config import parse_config, plan_workflow
from services.microscopy.core.workflow.runner import WorkflowProgress, run_workflow
from tests.conftest import REPO_ROOT
from tests.microscopy.workflow_movies import write_cell_movie

pytestmark = pytest.mark.slow


def run(movie: Path, output: Path, executor, *, local_pool: bool) -> list[bytes]:
    config = parse_config(
        {
            "microscopy_path": str(movie),
            "output_dir": str(output),
            "channels": {
                "pc": {"channel": 0, "features": ["area", "aspect_ratio"]},
                "fl": [{"channel": 1, "features": ["intensity_total", "intensity_mean"]}],
            },
            "params": {"positions": "0-2", "n_workers": 2, "min_frames": 2, "border_margin": 0},
        }
    )
    with open_reader(movie) as reader:
        plan = plan_workflow(config, reader.metadata, DataRoots([movie.parent]))
    seen: list[WorkflowProgress] = []

    async def report(progress: WorkflowProgress) -> None:
        seen.append(progress)

    try:
        summary = asyncio.run(
            run_workflow(plan, "scale-test", executor, report, local_pool=local_pool)
        )
    finally:
        executor.shutdown()
    assert seen[-1].fovs_done == 3
    assert [Path(path).parent.name for path in summary.traces] == ["fov_000", "fov_001", "fov_002"]
    return [Path(path).read_bytes() for path in summary.traces]


def test_dask_cluster_and_process_pool_give_identical_traces(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    movie = write_cell_movie(tmp_path / "movie.ome.tif", n_fovs=3, n_frames=5)
    pool = run(movie, tmp_path / "pool", make_executor(n_workers=2), local_pool=True)

    # Dask's worker processes import the project by PYTHONPATH, as on a real cluster.
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        executor = make_executor(scheduler_address=cluster.scheduler_address)
        dask = run(movie, tmp_path / "dask", executor, local_pool=False)
    assert all(len(traces.splitlines()) > 1 for traces in pool)
    assert dask == pool
