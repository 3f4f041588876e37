"""Localhost-only, trusted hosts and API keys, against real edges over HTTP."""

from __future__ import annotations

import socket

import httpx
import pytest

from edge.settings import EdgeSettings
from tests.edge.conftest import wait_until_the_edge_reaches
from tests.harness import free_port


def _non_loopback_ipv4() -> str | None:
    """An address of this machine that is not loopback (the route to the outside)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: no packet is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_wrong_host_header_is_refused(edge):
    response = edge.get("/health", headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_clients_from_other_machines_are_refused_by_default(platform):
    address = _non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    settings = EdgeSettings(host="0.0.0.0", port=free_port(), trusted_hosts=["*"])
    with platform.extra_edge(settings):
        response = httpx.get(f"http://{address}:{settings.port}/health", timeout=10)
        assert response.status_code == 403
        assert response.json()["error_code"] == "FORBIDDEN"
        assert httpx.get(f"http://127.0.0.1:{settings.port}/health", timeout=10).status_code == 200

    open_settings = EdgeSettings(
        host="0.0.0.0", port=free_port(), trusted_hosts=["*"], localhost_only=False
    )
    with platform.extra_edge(open_settings):
        response = httpx.get(f"http://{address}:{open_settings.port}/health", timeout=10)
        assert response.status_code == 200


def test_api_keys_guard_everything_but_health(platform):
    settings = EdgeSettings(port=free_port())
    with (
        platform.extra_edge(settings, api_keys=["k-one", "k-two"]) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        missing = client.get("/jobs")
        assert missing.status_code == 401
        assert missing.json()["error_code"] == "UNAUTHORIZED"
        assert missing.headers["www-authenticate"] == "Bearer"

        wrong = client.get("/jobs", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        assert wrong.json()["error_code"] == "FORBIDDEN"

        for key in ("k-one", "k-two"):
            ok = client.get("/jobs", headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200

        assert client.get("/health").status_code == 200  # probes need no key
        assert client.post("/mcp", json={}).status_code == 401  # MCP is guarded too


def test_health_shows_backend_addresses_only_with_a_valid_key(platform):
    """/health answers anyone (it is the readiness probe), but with API keys set
    only a caller with a valid key sees where the backends live."""
    settings = EdgeSettings(port=free_port())
    with (
        platform.extra_edge(settings, api_keys=["k-one"]) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        operator = client.get("/health", headers={"Authorization": "Bearer k-one"}).json()
        addresses = {state["address"] for state in operator["backends"].values()}
        assert all(addresses) and len(addresses) == len(operator["backends"])
        for headers in ({}, {"Authorization": "Bearer nope"}):
            anyone = client.get("/health", headers=headers)
            assert anyone.status_code == 200
            backends = anyone.json()["backends"]
            assert set(backends) == set(operator["backends"])
            for state in backends.values():
                assert state["status"] == "serving" and "address" not in state
            assert not any(address in anyone.text for address in addresses)

        platform.stop_service("inference")
        try:
            down = client.get("/health").json()["backends"]["inference"]
        finally:
            platform.start_service("inference")
            wait_until_the_edge_reaches(platform, "inference")
        assert down["status"] == "down" and "address" not in down
        port = platform.address("inference").rsplit(":", 1)[-1]
        assert f":{port}" not in (down["error"] or ""), down


# Browsers: CORS for allowed origins, no state change from any other -----------------

EVIL = "https://evil.example"
APP = "http://localhost:5173"  # a web app's dev server
LAB = "https://lab.example"  # a web app served from another machine


def test_state_changing_requests_from_a_foreign_origin_are_403(edge, platform):
    search = {"search_path": "."}
    refused = edge.post("/api/processing/search-files", json=search, headers={"Origin": EVIL})
    assert refused.status_code == 403
    body = refused.json()
    assert body["success"] is False and body["error_code"] == "FORBIDDEN"
    assert EVIL in body["error"]
    files = {"file": ("x.svs", b"not a slide")}
    upload = edge.post("/api/slides/upload", files=files, headers={"Origin": EVIL})
    assert upload.status_code == 403
    delete = edge.delete(
        "/api/boxes/0b7e7a53-4bb0-4f5e-9a43-1a2b3c4d5e6f", headers={"Origin": EVIL}
    )
    assert delete.status_code == 403

    # Reads are not refused (a browser keeps a foreign page from reading them).
    assert edge.get("/health", headers={"Origin": EVIL}).status_code == 200
    # The edge's own pages, and clients that send no Origin, may change state.
    own = edge.post(
        "/api/processing/search-files", json=search, headers={"Origin": platform.base_url}
    )
    assert own.status_code == 200
    assert edge.post("/api/processing/search-files", json=search).status_code == 200


def test_no_cors_for_foreign_origins_by_default(edge):
    """Pages on this machine get CORS (tests/edge/test_reference_client.py); others none."""
    preflight = edge.options(
        "/api/processing/search-files",
        headers={"Origin": LAB, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in edge.get("/health", headers={"Origin": LAB}).headers


def test_allowed_origins_get_cors_and_may_change_state(platform):
    settings = EdgeSettings(port=free_port(), cors_origins=[LAB])
    with (
        platform.extra_edge(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        preflight = client.options(
            "/api/processing/search-files",
            headers={
                "Origin": LAB,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == LAB
        assert "POST" in preflight.headers["access-control-allow-methods"]

        search = client.post(
            "/api/processing/search-files", json={"search_path": "."}, headers={"Origin": LAB}
        )
        assert search.status_code == 200
        assert search.headers["access-control-allow-origin"] == LAB

        other = client.post(
            "/api/processing/search-files", json={"search_path": "."}, headers={"Origin": EVIL}
        )
        assert other.status_code == 403
        assert "access-control-allow-origin" not in other.headers


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_the_edge_listens_on_both_loopbacks_by_default(platform):
    if not _ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback")
    settings = EdgeSettings(port=free_port())
    assert settings.host == ["127.0.0.1", "::1"]
    with platform.extra_edge(settings):
        for base_url in (f"http://127.0.0.1:{settings.port}", f"http://[::1]:{settings.port}"):
            response = httpx.get(f"{base_url}/livez", timeout=10)
            assert response.status_code == 200, base_url


def test_mcp_keeps_its_own_origin_guard(edge):
    """MCP refuses foreign origins itself and accepts local tools on other ports."""
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    local = edge.post(
        "/mcp", json=initialize, headers={**headers, "Origin": "http://localhost:6274"}
    )
    assert local.status_code == 200, local.text
    foreign = edge.post("/mcp", json=initialize, headers={**headers, "Origin": EVIL})
    assert foreign.status_code == 403
