"""The edge serves the web app at / without shadowing the API, and with API keys
configured the app's own files stay public so it can ask for a key."""

from __future__ import annotations

import httpx

from edge.settings import EdgeSettings
from edge.web import is_public_path
from tests.harness import free_port


def test_app_is_served_at_root(edge):
    page = edge.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert '<script type="module" src="/app/main.js">' in page.text
    script = edge.get("/app/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


def test_openseadragon_comes_from_npm_not_a_cdn(edge):
    library = edge.get("/vendor/openseadragon/openseadragon.min.js")
    assert library.status_code == 200, "run `make setup` (npm ci in web/)"
    assert "OpenSeadragon" in library.text[:2000]
    assert edge.get("/vendor/openseadragon/images/zoomin_rest.png").status_code == 200
    assert "://" not in edge.get("/").text.replace("http://www.w3.org", "")


def test_the_app_shadows_no_route(edge):
    assert edge.get("/health").json()["service"] == "Micrographia"
    assert edge.get("/docs").status_code == 200
    assert edge.get("/openapi.json").json()["info"]["title"] == "Micrographia"
    assert isinstance(edge.get("/api/slides/").json(), list)
    missing = edge.get("/api/no-such-route")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "NOT_FOUND"
    no_file = edge.get("/app/no-such-file.js")
    assert no_file.status_code == 404
    assert no_file.json()["error_code"] == "NOT_FOUND"


def test_data_roots_are_the_configured_ones(edge, platform):
    roots = edge.get("/api/processing/data-roots").json()["data"]["roots"]
    assert roots == [str(root.resolve()) for root in platform.platform.data_roots]


def test_config_schema_describes_the_workflow_body(edge):
    answer = edge.get("/api/processing/config-schema")
    assert answer.status_code == 200
    schema = answer.json()["data"]
    assert {"microscopy_path", "channels"} <= set(schema["required"])


def test_with_api_keys_the_app_loads_and_data_needs_a_key(platform):
    settings = EdgeSettings(port=free_port())
    with (
        platform.extra_edge(settings, api_keys=["web-key"]) as base_url,
        httpx.Client(base_url=base_url) as client,
    ):
        assert client.get("/").status_code == 200
        assert client.get("/app/api.js").status_code == 200
        assert client.get("/vendor/openseadragon/openseadragon.min.js").status_code == 200
        refused = client.get("/api/slides/")
        assert refused.status_code == 401
        assert refused.json()["error_code"] == "UNAUTHORIZED"
        assert client.get("/jobs").status_code == 401
        assert client.get("/mcp").status_code == 401
        allowed = client.get("/api/slides/", headers={"Authorization": "Bearer web-key"})
        assert allowed.status_code == 200


def test_only_the_apps_own_files_are_public():
    assert is_public_path("/") and is_public_path("/app/main.js")
    assert is_public_path("/vendor/openseadragon/openseadragon.min.js")
    for path in ("/api/slides/", "/jobs", "/mcp", "/docs", "/app/../api/slides/", "/appx"):
        assert not is_public_path(path), path
