"""Start services and the edge as separate processes, as in production, for
benchmarks that measure the whole path (HTTP -> edge -> gRPC -> service)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.settings import SERVICE_NAMES

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_grpc(address: str, child: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise RuntimeError(f"{address} exited with {child.returncode}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise TimeoutError(f"{address} did not become SERVING")


def _wait_http(url: str, child: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"edge exited with {child.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError("edge did not start")


@contextmanager
def running_services(
    services: list[str], env: dict[str, str], timeout: float = 120
) -> Iterator[dict[str, str]]:
    """Run `services`, each in its own process, without the edge (for benchmarks that
    call a service's gRPC API, as its peers do); yields {name: address}."""
    with _processes(services, env, timeout, edge=False) as (addresses, _):
        yield addresses


@contextmanager
def running(services: list[str], env: dict[str, str], timeout: float = 120) -> Iterator[str]:
    """Run `services` and the edge, each in its own process; yields the edge's base URL."""
    with _processes(services, env, timeout, edge=True) as (_, base_url):
        yield base_url


@contextmanager
def _processes(
    services: list[str], env: dict[str, str], timeout: float, edge: bool
) -> Iterator[tuple[dict[str, str], str]]:
    ports = {name: free_port() for name in SERVICE_NAMES}
    addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    edge_port = free_port()
    environment = {**os.environ, **env, "MICROGRAPHIA_LOG_LEVEL": "WARNING"}
    for name, port in ports.items():
        environment[f"MICROGRAPHIA_{name.upper()}_PORT"] = str(port)
        environment[f"MICROGRAPHIA_{name.upper()}_ADDRESS"] = addresses[name]
    environment["MICROGRAPHIA_EDGE_PORT"] = str(edge_port)
    children: list[subprocess.Popen] = []
    try:
        for name in services:
            child = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"], cwd=REPO_ROOT, env=environment
            )
            children.append(child)
            _wait_grpc(addresses[name], child, timeout)
        base_url = f"http://127.0.0.1:{edge_port}"
        if edge:
            child = subprocess.Popen([sys.executable, "-m", "edge"], cwd=REPO_ROOT, env=environment)
            children.append(child)
            _wait_http(f"{base_url}/health", child, timeout)
        yield {name: addresses[name] for name in services}, base_url
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
