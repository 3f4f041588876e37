"""GET /health against the real services, and what happens when one is down."""

from __future__ import annotations

import time

from common.settings import SERVICE_NAMES


def test_health_lists_every_backend_serving(edge):
    response = edge.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["backends"]) == set(SERVICE_NAMES)
    assert all(backend["status"] == "serving" for backend in body["backends"].values())
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
