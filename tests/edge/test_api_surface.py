"""Every endpoint the two API documents promise exists on the edge, and every
MCP tool they list is offered: read from the documents themselves."""

from __future__ import annotations

import re

import pytest

from edge.app import create_app

SPEC_NAMES = ("pyama-api.md", "slidekick-api.md")


def documented_endpoints(spec_dir) -> set[tuple[str, str]]:
    endpoints = set()
    pyama = (spec_dir / "pyama-api.md").read_text()
    for method, path in re.findall(r"^Endpoint: (GET|POST|DELETE|PUT) (/\S+)", pyama, re.M):
        # PyAMA's REST paths are relative to /api; the system endpoints are
        # answered at the root as well (its examples call them there).
        if path in ("/health", "/metrics", "/jobs"):
            endpoints.add((method, path))
        endpoints.add((method, f"/api{path}"))
    slidekick = (spec_dir / "slidekick-api.md").read_text()
    for method, path in re.findall(r"^### (GET|POST|DELETE|PUT) (/\S+)", slidekick, re.M):
        endpoints.add((method, path.replace("\\_", "_")))
    return endpoints


@pytest.fixture(scope="module")
def spec_dir(shared_data):
    folder = shared_data.parent / "spec"
    if not all((folder / name).is_file() for name in SPEC_NAMES):
        pytest.skip(f"API documents not found in {folder}")
    return folder


def test_every_documented_endpoint_is_routed(spec_dir):
    paths = create_app().openapi()["paths"]
    routed = {(method.upper(), path) for path, operations in paths.items() for method in operations}

    # Path parameter names may differ from the document's; compare shapes.
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    routed_shapes = {(method, shape(path)) for method, path in routed}
    documented = documented_endpoints(spec_dir)
    assert len(documented) >= 33
    missing = sorted(e for e in documented if (e[0], shape(e[1])) not in routed_shapes)
    assert not missing, f"documented but not routed: {missing}"


def test_every_documented_mcp_tool_is_offered(spec_dir):
    import asyncio

    from edge.app import create_app
    from edge.mcp_tools import build_mcp

    text = (spec_dir / "pyama-api.md").read_text()
    section = text.split("Available MCP Tools", 1)[1].split("MCP Client Configuration", 1)[0]
    documented = set(re.findall(r"^([a-z_]+)\n", section, re.M)) - {"string", "object", "boolean"}
    assert len(documented) == 6
    offered = {
        tool.name for tool in asyncio.run(build_mcp(create_app().state.backends).list_tools())
    }
    assert documented <= offered


# Paths the documents name, as clients write them ------------------------------------


def test_slides_without_the_trailing_slash_answer_as_with_it(edge):
    with_slash = edge.get("/api/slides/")
    without = edge.get("/api/slides")
    assert without.status_code == with_slash.status_code == 200
    assert without.json() == with_slash.json()


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT"])
@pytest.mark.parametrize("path", ["/api/nope", "/api/slides/x/y/z/w", "/api", "/api/processing"])
def test_unknown_api_paths_are_404_for_every_method(edge, method, path):
    response = edge.request(method, path)
    assert response.status_code == 404, response.text
    assert response.json()["error_code"] == "NOT_FOUND"


@pytest.mark.parametrize("name", ["health", "metrics", "jobs"])
def test_system_endpoints_answer_under_api_as_at_the_root(edge, name):
    root, under_api = edge.get(f"/{name}"), edge.get(f"/api/{name}")
    assert root.status_code == under_api.status_code == 200
    assert set(root.json()) == set(under_api.json())
    if name == "jobs":
        assert under_api.json()["data"]["active_jobs"] == root.json()["data"]["active_jobs"]


def test_every_envelope_has_a_message(edge):
    for answer in (
        edge.get("/api/processing/features"),
        edge.get("/api/analysis/models"),
        edge.get("/api/jobs"),
        edge.post("/api/processing/search-files", json={"search_path": "."}),
    ):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["success"] is True and isinstance(body["message"], str) and body["message"]
