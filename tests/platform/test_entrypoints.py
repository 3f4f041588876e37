"""Each service starts alone with `python -m services.<name>`, answers health,
and stops cleanly on SIGTERM; `python -m edge` answers even with every backend down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.settings import SERVICE_NAMES
from tests.conftest import REPO_ROOT
from tests.harness import free_port


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    child = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


# Inference imports tiatoolbox and builds HoVerNet before it says SERVING: half a
# minute on two busy cores.
def wait_serving(address: str, child: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert child.poll() is None, child.stdout.read()
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    pytest.fail(f"{address} never became SERVING")


# The inference service loads its network before it serves: a model test.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=[pytest.mark.slow, pytest.mark.model])
        if name == "inference"
        else name
        for name in SERVICE_NAMES
    ],
)
def test_service_runs_alone_and_stops_on_sigterm(name, database_url, data_root, tmp_path):
    port = free_port()
    env = {
        f"MICROGRAPHIA_{name.upper()}_PORT": str(port),
        "MICROGRAPHIA_DATABASE_URL": database_url,
        "MICROGRAPHIA_DATA_ROOTS": str(data_root),
        "MICROGRAPHIA_SLIDES_DIR": str(tmp_path / "slides"),
        "MICROGRAPHIA_INFERENCE_WEIGHTS": "random",
    }
    with process(["-m", f"services.{name}"], env) as child:
        wait_serving(f"127.0.0.1:{port}", child)
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=30)
        assert child.returncode == 0, output
        assert f"{name} draining" in output and f"{name} stopped" in output


def test_edge_answers_with_every_backend_down():
    port = free_port()
    env = {
        f"MICROGRAPHIA_{name.upper()}_ADDRESS": f"127.0.0.1:{free_port()}" for name in SERVICE_NAMES
    }
    env["MICROGRAPHIA_EDGE_PORT"] = str(port)
    with process(["-m", "edge"], env) as child:
        deadline = time.monotonic() + 30
        while True:
            assert child.poll() is None, child.stdout.read()
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "edge did not start"
                time.sleep(0.2)
        body = response.json()
        assert response.status_code == 200
        assert body["status"] == "degraded"
        assert {b["status"] for b in body["backends"].values()} == {"down"}
        assert body["active_jobs"] is None
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=30)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert child.returncode in (0, -signal.SIGTERM), output
        assert "Application shutdown complete" in output


@pytest.mark.slow
@pytest.mark.model
def test_all_in_one_mode_serves_every_service(database_url, data_root, tmp_path):
    ports = {name: free_port() for name in SERVICE_NAMES}
    env = {f"MICROGRAPHIA_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env |= {
        "MICROGRAPHIA_DATABASE_URL": database_url,
        "MICROGRAPHIA_DATA_ROOTS": str(data_root),
        "MICROGRAPHIA_SLIDES_DIR": str(tmp_path / "slides"),
        "MICROGRAPHIA_INFERENCE_WEIGHTS": "random",
    }
    with process(["-m", "services"], env) as child:
        for port in ports.values():
            wait_serving(f"127.0.0.1:{port}", child)
        child.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = child.communicate(timeout=30)
        assert child.returncode == 0, output
        assert all(f"{name} stopped" in output for name in SERVICE_NAMES)


def test_console_exporter_prints_the_service_spans(database_url, data_root):
    port = free_port()
    env = {
        "MICROGRAPHIA_ANALYSIS_PORT": str(port),
        "MICROGRAPHIA_DATABASE_URL": database_url,
        "MICROGRAPHIA_DATA_ROOTS": str(data_root),
        "MICROGRAPHIA_OTEL_EXPORTER": "console",
    }
    with process(["-m", "services.analysis"], env) as child:
        wait_serving(f"127.0.0.1:{port}", child)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            from micrographia.analysis.v1 import analysis_pb2_grpc
            from micrographia.common.v1 import common_pb2

            stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
            stub.ListJobs(common_pb2.ListJobsRequest(), timeout=5)
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=30)
    assert '"name": "/micrographia.analysis.v1.AnalysisService/ListJobs"' in output
    assert '"service.name": "micrographia-analysis"' in output
