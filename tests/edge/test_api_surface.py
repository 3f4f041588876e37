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
        # PyAMA's REST paths are relative to /api; the system endpoints are not.
        system = path in ("/health", "/metrics", "/jobs")
        endpoints.add((method, path if system else f"/api{path}"))
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

    from edge.mcp_tools import build_mcp

    text = (spec_dir / "pyama-api.md").read_text()
    section = text.split("Available MCP Tools", 1)[1].split("MCP Client Configuration", 1)[0]
    documented = set(re.findall(r"^([a-z_]+)\n", section, re.M)) - {"string", "object", "boolean"}
    assert len(documented) == 6
    offered = {tool.name for tool in asyncio.run(build_mcp(None).list_tools())}
    assert documented <= offered
