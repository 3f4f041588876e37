"""The edge's public surface, compared with the saved one: the OpenAPI document and
the MCP tools (names, descriptions, input and output schemas).

A refactor of the edge must leave both as they were. A change of the API on purpose
updates the saved copies in the same commit:

    MICROGRAPHIA_UPDATE_API_FIXTURES=1 python -m pytest tests/edge/test_api_unchanged.py

Component schemas are compared inlined (a model renamed or split describes the same
body) and without their titles (pydantic names them after the class).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from edge.app import create_app
from edge.mcp_tools import build_mcp

FIXTURES = Path(__file__).parent / "fixtures"
UPDATE = os.environ.get("MICROGRAPHIA_UPDATE_API_FIXTURES") == "1"


def inlined(node: Any, components: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`node` with every local $ref replaced by what it names, and no schema titles."""
    if isinstance(node, list):
        return [inlined(item, components, seen) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith(("#/components/schemas/", "#/$defs/")):
        name = reference.rsplit("/", 1)[1]
        if name in seen:  # a recursive schema: keep the cycle as a marker
            return {"$recursive": name}
        target = components[name]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return inlined({**target, **rest}, components, (*seen, name))
    return {
        key: inlined(value, components, seen)
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str)) and key != "$defs"
    }


def openapi_paths(document: dict[str, Any]) -> dict[str, Any]:
    components = document.get("components", {}).get("schemas", {})
    rest = {k: v for k, v in document.items() if k != "components"}
    return inlined(rest, components)


def mcp_tools(tools: list[dict[str, Any]]) -> dict[str, Any]:
    described = {}
    for tool in tools:
        described[tool["name"]] = {
            key: inlined(value, value.get("$defs", {}) if isinstance(value, dict) else {})
            for key, value in tool.items()
        }
    return described


def current_openapi() -> dict[str, Any]:
    return json.loads(json.dumps(create_app().openapi()))


def current_mcp_tools() -> list[dict[str, Any]]:
    app = create_app()
    mcp = build_mcp(app.state.backends)
    tools = asyncio.run(mcp.list_tools())
    listed = [tool.model_dump(mode="json", exclude_none=True) for tool in tools]
    return sorted(listed, key=lambda tool: tool["name"])


def compare(name: str, current: Any, normal) -> None:
    path = FIXTURES / name
    if UPDATE:
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"{name} updated")
    saved = json.loads(path.read_text())
    before, after = normal(saved), normal(current)
    if before != after:
        pytest.fail(f"{name}: the public surface changed\n" + "\n".join(differences(before, after)))


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    """Where two JSON values differ, as readable lines (at most 40)."""
    found: list[str] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key not in after:
                found.append(f"{where}/{key}: removed")
            elif key not in before:
                found.append(f"{where}/{key}: added")
            else:
                found += differences(before[key], after[key], f"{where}/{key}")
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            found += differences(old, new, f"{where}/{index}")
    elif before != after:
        found.append(f"{where}: {json.dumps(before)[:200]} -> {json.dumps(after)[:200]}")
    return found[:40]


def test_the_openapi_document_describes_the_same_api():
    compare("openapi.json", current_openapi(), openapi_paths)


def test_the_mcp_tools_are_the_same():
    compare("mcp_tools.json", current_mcp_tools(), mcp_tools)
