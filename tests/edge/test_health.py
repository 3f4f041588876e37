"""GET /health against the real services, and what happens when one is down."""

from __future__ import annotations

import time

import yaml

from common.settings import SERVICE_NAMES
from tests.conftest import REPO_ROOT
from tests.edge.conftest import hung_service, wait_until_the_edge_reaches


def test_health_lists_every_backend_serving(edge):
    response = edge.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["backends"]) == set(SERVICE_NAMES)
    assert all(backend["status"] == "serving" for backend in body["backends"].values())
    # No API keys configured: whoever may reach the edge is its operator.
    assert all(backend["address"] for backend in body["backends"].values())
    assert body["active_jobs"] == 0
    assert body["system_info"]["cpu_count"] >= 1


def test_stopped_service_shows_down_and_its_routes_answer_503(platform, edge):
    platform.stop_service("microscopy")
    try:
        started = time.monotonic()
        body = edge.get("/health").json()
        assert time.monotonic() - started < 5
        assert body["status"] == "degraded"
        assert body["backends"]["microscopy"]["status"] == "down"
        assert body["backends"]["slides"]["status"] == "serving"

        started = time.monotonic()
        response = edge.get("/api/processing/workflow/status/0b7e7a53-4bb0-4f5e-9a43-1a2b3c4d5e6f")
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        error = response.json()
        assert error["success"] is False
        assert error["error_code"] == "SERVICE_UNAVAILABLE"
        assert "microscopy" in error["error"]
        assert elapsed < platform.edge_settings.request_timeout_s
    finally:
        platform.start_service("microscopy")
    # Back up: the edge reconnects on its own.
    deadline = time.monotonic() + 10
    while edge.get("/health").json()["status"] != "healthy":
        assert time.monotonic() < deadline, "microscopy did not come back"
        time.sleep(0.2)


def test_livez_calls_no_backend(platform, edge):
    with hung_service(platform, "slides"):
        response = edge.get("/livez", timeout=2)
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_a_hung_backend_is_down_in_health_and_missing_from_listings(platform, edge):
    """The hung service would hold each call for the whole 30 s request deadline;
    the client's 10 s timeout is the bound these answers must keep."""
    with hung_service(platform, "microscopy"):
        health = edge.get("/health", timeout=10).json()
        assert health["status"] == "degraded"
        assert health["backends"]["microscopy"]["status"] == "down"
        assert health["backends"]["analysis"]["status"] == "serving"

        jobs = edge.get("/jobs", timeout=10).json()
        assert jobs["success"] is True
        assert jobs["data"]["unavailable_services"] == ["microscopy"]

        metrics = edge.get("/metrics", timeout=10).json()
        assert metrics["jobs"]["unavailable_services"] == ["microscopy"]


def test_the_liveness_probe_of_the_edge_is_livez():
    manifest = (REPO_ROOT / "k8s" / "base" / "edge.yaml").read_text()
    edge = next(doc for doc in yaml.safe_load_all(manifest) if doc["kind"] == "Deployment")
    container = edge["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"


def test_503_bodies_name_no_internal_address(platform, edge, caplog):
    address = platform.address("analysis")
    platform.stop_service("analysis")
    try:
        response = edge.get("/api/analysis/models")
    finally:
        platform.start_service("analysis")
        wait_until_the_edge_reaches(platform, "analysis")
    assert response.status_code == 503
    assert address not in response.text and "ipv4:" not in response.text
    assert response.json()["details"] == {"service": "analysis"}
