"""MCP over streamable HTTP (/mcp) and SSE (/mcp/sse), served by the real edge."""

from __future__ import annotations

import asyncio
import json

from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client

from common.jobs import JobContext
from tests.edge.conftest import wait_until_the_edge_reaches

DOCUMENTED_TOOLS = {
    "load_microscopy",
    "get_processing_config_schema",
    "create_processing_task",
    "list_tasks",
    "get_task",
    "cancel_task",
}


def test_streamable_http_lists_tools_and_reads_tasks(platform):
    async def finished_job():
        async def work(job: JobContext):
            return {"ok": True, "cells": 1500}

        runner = platform.runners["microscopy"].service.jobs
        job = await runner.submit("simulated", work)
        while (await runner.store.get(job.id)).status.value != "completed":
            await asyncio.sleep(0.02)
        return job.id

    job_id = platform.loop.run(finished_job())

    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            task = await client.call_tool("get_task", {"task_id": job_id})
            listed = await client.call_tool("list_tasks", {})
            missing = await client.call_tool("get_task", {"task_id": "nope"})
            return tools, task, listed, missing

    tools, task, listed, missing = asyncio.run(session())
    assert tools >= DOCUMENTED_TOOLS
    record = json.loads(task.content[0].text)
    assert record["id"] == job_id and record["status"] == "completed"
    # Task fields include the result, as pyama-api.md documents (integers stay integers).
    assert record["result"] == {"ok": True, "cells": 1500}
    tasks = {t["id"]: t for t in json.loads(listed.content[0].text)["tasks"]}
    assert tasks[job_id]["result"] == {"ok": True, "cells": 1500}
    assert all("result" in t for t in tasks.values())
    assert missing.is_error and "JOB_NOT_FOUND" in missing.content[0].text


def test_sse_transport_serves_the_same_tools(platform):
    async def session():
        url = f"{platform.base_url}/mcp/sse"
        async with sse_client(url) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            return {tool.name for tool in (await client.list_tools()).tools}

    assert asyncio.run(session()) >= DOCUMENTED_TOOLS


def test_both_transports_answer_at_mcp(platform):
    """pyama-api.md tells MCP clients to use /mcp: a legacy SSE client and a
    streamable HTTP client both work there (and /mcp/sse stays)."""

    async def over_sse():
        url = f"{platform.base_url}/mcp"
        async with sse_client(url) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            tools = {tool.name for tool in (await client.list_tools()).tools}
            listed = await client.call_tool("list_tasks", {})
            return tools, listed

    async def over_streamable_http():
        async with Client(f"{platform.base_url}/mcp") as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    tools, listed = asyncio.run(over_sse())
    assert tools >= DOCUMENTED_TOOLS
    assert not listed.is_error and "tasks" in json.loads(listed.content[0].text)
    assert asyncio.run(over_streamable_http()) == tools


def _tool_error(platform, tool: str, arguments: dict) -> str:
    async def call():
        async with Client(f"{platform.base_url}/mcp") as client:
            return await client.call_tool(tool, arguments)

    result = asyncio.run(call())
    assert result.is_error
    (content,) = result.content
    text = content.text
    # Ours alone: not framed by the SDK's "Error executing tool <name>: ".
    assert not text.startswith("Error executing tool"), text
    for internal in ("/micrographia.", "ipv4:", "ipv6:", "Traceback", "Error(", "pydantic"):
        assert internal not in text, text
    return text


def test_tool_errors_are_in_the_users_terms(platform):
    missing = _tool_error(platform, "load_microscopy", {"file_path": "nothing/here.nd2"})
    assert missing.startswith("FILE_NOT_FOUND: ") and "nothing/here.nd2" in missing

    config = {"channels": {"pc": {"features": []}}}
    bad = _tool_error(platform, "create_processing_task", {"file_path": "x.nd2", "config": config})
    assert bad.startswith("INVALID_PARAMETERS: ") and "channel" in bad

    platform.stop_service("microscopy")
    try:
        down = _tool_error(platform, "list_tasks", {})
    finally:
        platform.start_service("microscopy")
        wait_until_the_edge_reaches(platform, "microscopy")
    assert down == "SERVICE_UNAVAILABLE: The microscopy service is unavailable"


def test_invalid_tool_arguments_name_the_field_and_the_rule(platform):
    """Arguments that fail a tool's input schema read like the REST API's errors,
    not like pydantic's report (type names, an errors.pydantic.dev link)."""
    nd2 = "nd2/cluster.nd2"
    too_large = _tool_error(platform, "preview_frame", {"file_path": nd2, "fov": 2**31})
    assert too_large == "INVALID_PARAMETERS: fov: must be at most 2147483647"

    several = _tool_error(platform, "preview_frame", {"fov": -(2**31) - 1, "t": "soon"})
    assert several.split("; ") == [
        "INVALID_PARAMETERS: file_path: is required",
        "fov: must be at least -2147483648",
        "t: must be a valid integer, unable to parse string as an integer",
    ]

    depth = _tool_error(platform, "search_files", {"search_path": ".", "max_depth": 2**40})
    assert depth == "INVALID_PARAMETERS: max_depth: must be at most 2147483647"


def test_fitting_integers_are_bounded_before_any_call(platform):
    """The fitting pictures' integers too: past their proto type (or the REST
    route's own bound) they are refused, naming the field, before any call."""
    job = "00000000-0000-0000-0000-000000000000"
    cell = _tool_error(platform, "plot_cell_fit", {"job_id": job, "cell": 2**63})
    assert cell == "INVALID_PARAMETERS: cell: must be at most 9223372036854775807"
    fov = _tool_error(platform, "plot_cell_fit", {"job_id": job, "cell": 0, "fov": -(2**63) - 1})
    assert fov == "INVALID_PARAMETERS: fov: must be at least -9223372036854775808"
    bins = {"job_id": job, "parameter": "k", "bins": 2**63}
    assert _tool_error(platform, "plot_parameter_histogram", bins) == (
        "INVALID_PARAMETERS: bins: must be at most 500"
    )


def test_every_tool_integer_has_bounds_a_proto_can_carry(platform):
    """No tool takes an integer without a minimum and a maximum within int64, so
    none can reach a request message as a value out of range."""

    async def tools():
        async with Client(f"{platform.base_url}/mcp") as client:
            return (await client.list_tools()).tools

    def integers(schema, defs, path):
        if "$ref" in schema:
            yield from integers(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path)
        if schema.get("type") == "integer":
            yield path, schema
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                yield from integers(option, defs, path)
        for name, prop in schema.get("properties", {}).items():
            yield from integers(prop, defs, f"{path}.{name}")
        if isinstance(schema.get("items"), dict):
            yield from integers(schema["items"], defs, f"{path}[]")
        if isinstance(schema.get("additionalProperties"), dict):
            yield from integers(schema["additionalProperties"], defs, f"{path}{{}}")

    unbounded = []
    for tool in asyncio.run(tools()):
        schema = tool.input_schema
        for path, integer in integers(schema, schema.get("$defs", {}), tool.name):
            low, high = integer.get("minimum"), integer.get("maximum")
            if low is None or high is None or low < -(2**63) or high > 2**63 - 1:
                unbounded.append(path)
    assert not unbounded
