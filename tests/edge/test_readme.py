"""The README's list of routes and MCP tools is whole: every operation of the
OpenAPI document and every MCP tool appears in it."""

from __future__ import annotations

import asyncio

from edge.app import create_app
from edge.mcp_tools import build_mcp
from tests.conftest import REPO_ROOT


def test_the_readme_lists_every_route_and_mcp_tool():
    readme = (REPO_ROOT / "README.md").read_text()
    app = create_app()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if f"`{method.upper()} {path}`" not in readme
    ]
    tools = asyncio.run(build_mcp(app.state.backends).list_tools())
    missing += [f"MCP {tool.name}" for tool in tools if f"| `{tool.name}` |" not in readme]
    assert not missing, f"README.md does not list: {', '.join(missing)}"
