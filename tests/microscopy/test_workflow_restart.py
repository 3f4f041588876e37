"""Restart safety: `kill -9` the microscopy service (a real subprocess) in the middle of
a workflow, start it again, and the job resumes from its last finished FOV step and
completes; it never stays running. The killed service's pool worker stops too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from micrographia.common.v1 import common_pb2
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from services.microscopy.core.workflow.control import control_dir, read_progress
from tests.conftest import REPO_ROOT
from tests.harness import free_port
from tests.microscopy.edge_api import microscopy_stub
from tests.microscopy.workflow_movies import write_cell_movie
from tests.platform.test_entrypoints import wait_serving

pytestmark = pytest.mark.slow


def traces_of(output: Path, fov: int) -> Path | None:
    found = list(output.glob(f"fov_{fov:03d}/*_traces.csv"))
    return found[0] if found else None


@contextmanager
def service(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`python -m services.microscopy` as a real process, its output in `log` (a pipe
    would be held open by its pool workers)."""
    with open(log, "ab") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "services.microscopy"],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_kill_9_mid_job_then_restart_resumes_and_completes(database_url, tmp_path):
    root = tmp_path / "root"
    movie = write_cell_movie(root / "movie.ome.tif", n_fovs=2, n_frames=150)
    output = root / "out"
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = {
        "MICROGRAPHIA_MICROSCOPY_PORT": str(port),
        "MICROGRAPHIA_DATABASE_URL": database_url,
        "MICROGRAPHIA_DATA_ROOTS": str(root),
        "MICROGRAPHIA_MICROSCOPY_JOB_HEARTBEAT_S": "0.5",
        "MICROGRAPHIA_MICROSCOPY_JOB_STALE_AFTER_S": "2",
    }
    request = pb.StartWorkflowRequest(
        microscopy_path=str(movie),
        output_dir=str(output),
        channels=pb.Channels(
            phase=pb.ChannelSelection(channel=0, features=["area"]),
            fluorescence=[pb.ChannelSelection(channel=1, features=["intensity_total"])],
        ),
        parameters=pb.ProcessingParameters(n_workers=1, batch_size=1, min_frames=2),
    )
    log = tmp_path / "service.log"
    with service(env, log) as first:
        wait_serving(address, first)
        with microscopy_stub(address) as stub:
            job_id = stub.StartWorkflow(request, timeout=30).job_id
        folder = control_dir(output, job_id)
        # FOV 0 finished, FOV 1 under way: kill -9 in the middle of the job.
        first_traces = wait_until(lambda: traces_of(output, 0), 240, "FOV 0's traces")
        wait_until(lambda: read_progress(folder, 1), 60, "FOV 1 to start")
        first_traces_written = first_traces.stat().st_mtime_ns
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    # The orphaned pool worker notices its service is gone and stops within a frame:
    # its progress stands still and FOV 1 is not finished behind the resumed job's back.
    time.sleep(1.0)
    still = read_progress(folder, 1)
    time.sleep(1.0)
    assert read_progress(folder, 1) == still
    assert traces_of(output, 1) is None, "FOV 1 finished before the kill; use a longer movie"

    with service(env, log) as second:
        wait_serving(address, second)
        with microscopy_stub(address) as stub:

            def finished() -> common_pb2.Job | None:
                job = stub.GetJob(common_pb2.GetJobRequest(job_id=job_id), timeout=10).job
                return job if job.status != common_pb2.JOB_STATUS_RUNNING else None

            try:
                job = wait_until(finished, 240, "the resumed job to end")
            except grpc.RpcError as error:  # pragma: no cover - shows the service's output
                pytest.fail(f"{error}\n{log.read_text()}")
            results = stub.GetWorkflowResults(pb.GetWorkflowResultsRequest(job_id=job_id))
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text()
    assert job.status == common_pb2.JOB_STATUS_COMPLETED, job.message
    # FOV 0 was not redone: its finished steps were skipped.
    assert first_traces.stat().st_mtime_ns == first_traces_written
    assert list(results.traces) == [str(traces_of(output, 0)), str(traces_of(output, 1))]
    assert results.stats.total_frames == 300
