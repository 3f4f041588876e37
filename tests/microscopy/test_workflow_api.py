"""The workflow's REST routes and MCP tools through the real edge and service: the
configuration checked before a job exists, the simulated task, one job seen from
REST and MCP, cancel, results and merge answers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from mcp import Client

from testing.synthetic_tiff import write_synthetic_ome_tiff
from tests.microscopy.edge_api import data_of, error_of
from tests.microscopy.test_workflow_merge import write_traces


@pytest.fixture(scope="module")
def movie(data_root: Path) -> Path:
    """A real 2-channel, 1-FOV file inside the data root."""
    folder = data_root / "workflow-api"
    folder.mkdir(exist_ok=True)
    return write_synthetic_ome_tiff(
        folder / "movie.ome.tif", n_frames=3, n_channels=2, height=32, width=32
    )


def start_body(movie: Path, **changes) -> dict:
    body = {
        "microscopy_path": str(movie),
        "output_dir": str(movie.parent / "out"),
        "channels": {
            "phase": {"channel": 0, "features": ["area"]},
            "fluorescence": [{"channel": 1, "features": ["intensity_total"]}],
        },
        "parameters": {"fov_start": 0, "fov_end": 0},
    }
    return body | changes


def call_tools(platform, *calls: tuple[str, dict]) -> list:
    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            return [await client.call_tool(name, arguments) for name, arguments in calls]

    return asyncio.run(session())


def wait_for(edge: httpx.Client, job_id: str, statuses: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = data_of(edge.get(f"/api/processing/workflow/status/{job_id}"))
        if status["status"] in statuses or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("change", "status", "code", "message"),
    [
        (
            {"parameters": {"segmentation_method": "delta"}},
            400,
            "INVALID_PARAMETERS",
            "segmentation method 'delta' is not supported; supported: logstd, cellpose",
        ),
        (
            {"parameters": {"background_method": "rolling_ball"}},
            400,
            "INVALID_PARAMETERS",
            "background method 'rolling_ball' is not supported; supported: pspline, reference",
        ),
        (
            {"channels": {"phase": {"channel": 0, "features": ["volume"]}}},
            400,
            "INVALID_PARAMETERS",
            "unknown feature id 'volume'",
        ),
        (
            {"channels": {"phase": {"channel": 5}}},
            400,
            "INVALID_PARAMETERS",
            "channel 5 is outside the file, which has 2 channel(s)",
        ),
        (
            {"parameters": {"positions": "0-2"}},
            400,
            "INVALID_PARAMETERS",
            "FOV 1, 2 is outside the file",
        ),
        ({"output_dir": "/etc/micrographia"}, 403, "FORBIDDEN", "outside the configured"),
    ],
)
def test_bad_configuration_is_refused_before_a_job_exists(
    edge, movie, change, status, code, message
):
    before = data_of(edge.get("/jobs"))["total_active"]
    body = error_of(
        edge.post("/api/processing/workflow/start", json=start_body(movie, **change)),
        status,
        code,
    )
    assert message in body["error"]
    assert data_of(edge.get("/jobs"))["total_active"] == before
    assert not (movie.parent / "out").exists()


def test_mcp_schema_and_config_errors_reach_the_assistant(platform, movie):
    schema, bad, wrong_type, bad_background = call_tools(
        platform,
        ("get_processing_config_schema", {}),
        (
            "create_processing_task",
            {
                "file_path": str(movie),
                "config": {
                    "channels": {"pc": {"channel": 0, "features": ["area"]}},
                    "params": {"positions": "0", "segmentation_method": "delta"},
                },
            },
        ),
        ("create_processing_task", {"file_path": str(movie), "config": {"channels": 3}}),
        (
            "create_processing_task",
            {
                "file_path": str(movie),
                "config": {
                    "channels": {"pc": {"channel": 0}},
                    "params": {"positions": "0", "background_method": "flat"},
                },
            },
        ),
    )
    document = json.loads(schema.content[0].text)
    assert document["properties"]["parameters"]["description"].startswith("Parameters")
    assert "ProcessingParameters" in document["$defs"]
    assert bad.is_error
    assert "INVALID_PARAMETERS" in bad.content[0].text
    assert "supported: logstd" in bad.content[0].text
    assert wrong_type.is_error and "channels" in wrong_type.content[0].text
    assert bad_background.is_error
    assert "supported: pspline, reference" in bad_background.content[0].text
    background = document["$defs"]["ProcessingParameters"]["properties"]["background_method"]
    assert background["enum"] == ["pspline", "reference"]
    assert background["default"] == "pspline"


def test_simulated_task_is_one_job_in_mcp_and_rest_and_cancels(platform, edge):
    (created,) = call_tools(
        platform, ("create_processing_task", {"file_path": "unused", "fake": True})
    )
    task = json.loads(created.content[0].text)
    assert task["estimated_duration"] == 60
    job_id = task["id"]
    deadline = time.monotonic() + 30
    while True:  # running, and its first progress report is in
        running = data_of(edge.get(f"/api/processing/workflow/status/{job_id}"))
        if running["progress"]["total_fovs"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert running["status"] == "running"
    assert running["progress"]["total_fovs"] == 60
    assert running["progress"]["current_step"] == "copying"
    assert running["started_at"] and running["updated_at"]
    assert job_id in {job["job_id"] for job in data_of(edge.get("/jobs"))["active_jobs"]}

    cancelled = data_of(edge.post(f"/api/processing/workflow/cancel/{job_id}"))
    assert cancelled["job_id"] == job_id
    assert cancelled["status"] in {"cancelling", "cancelled"}
    assert wait_for(edge, job_id, {"cancelled"})["status"] == "cancelled"

    (seen,) = call_tools(platform, ("get_task", {"task_id": job_id}))
    assert json.loads(seen.content[0].text)["status"] == "cancelled"
    again = error_of(
        edge.post(f"/api/processing/workflow/cancel/{job_id}"), 400, "JOB_ALREADY_COMPLETED"
    )
    assert "cancelled" in again["error"]
    error_of(edge.get(f"/api/processing/workflow/results/{job_id}"), 404, "JOB_NOT_FOUND")


def test_merge_route_writes_files_and_names_missing_fovs(edge, data_root):
    folder = data_root / "merge-api"
    for fov in (0, 1):
        write_traces(folder / "output", fov)
    (folder / "samples.yaml").write_text("samples:\n  - {name: control, fovs: '0-1'}\n")
    merged = data_of(
        edge.post(
            "/api/processing/merge",
            json={
                "sample_yaml": str(folder / "samples.yaml"),
                "input_dir": str(folder / "output"),
                "output_dir": str(folder / "merged"),
            },
        )
    )
    assert merged["merged_files"] == [str(folder / "merged" / "control_merged.csv")]
    assert merged["stats"] == {"samples_processed": 1, "total_cells": 2, "files_created": 3}
    (folder / "bad.yaml").write_text("samples:\n  - {name: control, fovs: '0-3'}\n")
    body = error_of(
        edge.post(
            "/api/processing/merge",
            json={
                "sample_yaml": str(folder / "bad.yaml"),
                "input_dir": str(folder / "output"),
                "output_dir": str(folder / "merged2"),
            },
        ),
        400,
        "INVALID_PARAMETERS",
    )
    assert "sample 'control': FOV 2, 3" in body["error"]


def test_create_processing_task_input_schema_is_typed(platform):
    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            return {tool.name: tool for tool in (await client.list_tools()).tools}

    tool = asyncio.run(session())["create_processing_task"]
    schema = tool.input_schema
    assert schema["required"] == ["file_path"]
    definitions = schema["$defs"]
    assert set(definitions["ChannelsInput"]["properties"]) == {"pc", "fl"}
    params = definitions["ParamsInput"]["properties"]
    assert {"positions", "batch_size", "segmentation_method"} <= set(params)
