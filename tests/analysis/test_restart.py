"""A fitting job survives its service being killed: another process resumes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from micrographia.analysis.v1 import analysis_pb2 as pb
from micrographia.analysis.v1 import analysis_pb2_grpc
from micrographia.common.v1 import common_pb2
from tests.analysis.synthetic import TIMES, maturation_traces, tidy_frame, write_csv
from tests.conftest import REPO_ROOT, TEST_DATABASE_URL
from tests.harness import create_test_database, drop_test_database, free_port

CELLS = 2000


def start_service(database_url: str, data_root: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "MICROGRAPHIA_DATABASE_URL": database_url,
        "MICROGRAPHIA_DATA_ROOTS": str(data_root),
        "MICROGRAPHIA_ANALYSIS_PORT": str(port),
        # Many tiny chunks: the job is still running when the process is killed.
        "MICROGRAPHIA_ANALYSIS_CHUNK_CELLS": "1",
        "MICROGRAPHIA_ANALYSIS_JOB_HEARTBEAT_S": "0.5",
        "MICROGRAPHIA_ANALYSIS_JOB_STALE_AFTER_S": "2",
        "MICROGRAPHIA_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "services.analysis"], cwd=REPO_ROOT, env=env)


def job_of(stub, job_id: str) -> common_pb2.Job:
    return stub.GetJob(common_pb2.GetJobRequest(job_id=job_id), timeout=5).job


def wait_for(predicate, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
            if value:
                return value
        except grpc.RpcError:
            pass  # the service is still starting
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_service_s_job_is_resumed_by_the_next(loop_thread, tmp_path):
    _, values = maturation_traces(CELLS, seed=31)
    path = write_csv(tidy_frame(values[:, :20], TIMES[:20]), tmp_path / "traces.csv")
    database_url = loop_thread.run(create_test_database(TEST_DATABASE_URL))
    port = free_port()
    processes = [start_service(database_url, tmp_path, port)]
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
            request = pb.StartFittingRequest(csv_path=str(path), model_type="maturation")
            job_id = wait_for(lambda: stub.StartFitting(request, timeout=60).job_id)
            progress = wait_for(lambda: job_of(stub, job_id).progress.current)
            assert progress < CELLS  # killed mid-way
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait(10)
        # The next process on the same port finds the job stale and runs it again.
        processes.append(start_service(database_url, tmp_path, port))
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
            completed = common_pb2.JOB_STATUS_COMPLETED
            wait_for(lambda: job_of(stub, job_id).status == completed, timeout=180)
            job = job_of(stub, job_id)
            assert job.progress.current == job.progress.total == CELLS
            results = stub.GetFittingResults(pb.GetFittingResultsRequest(job_id=job_id), timeout=5)
            assert results.summary.total_cells == CELLS
            expected = (tmp_path / f"traces_fitted_maturation_{job_id}.csv").resolve()
            assert Path(results.results_file) == expected and expected.is_file()
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(15)
        loop_thread.run(drop_test_database(database_url))
