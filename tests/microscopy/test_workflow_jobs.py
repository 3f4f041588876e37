"""Real workflow jobs through the real edge and service, on small synthetic movies:
start -> status and SSE progress -> results, files on disk, the same job in MCP,
overlays on the frame preview, and a cancel that stops the work within a frame."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from PIL import Image

from services.microscopy.core.workflow.config import CONFIG_FILE_NAME
from services.microscopy.core.workflow.control import control_dir, read_progress
from services.microscopy.core.workflow.results import RESULTS_INDEX_NAME
from tests.microscopy.edge_api import data_of, error_of
from tests.microscopy.test_workflow_api import call_tools, wait_for
from tests.microscopy.workflow_movies import write_cell_movie


def start(edge, movie: Path, output: Path, **parameters) -> dict:
    body = {
        "microscopy_path": str(movie),
        "output_dir": str(output),
        "channels": {
            "phase": {"channel": 0, "features": ["area", "aspect_ratio"]},
            "fluorescence": [{"channel": 1, "features": ["intensity_total"]}],
        },
        "parameters": {"min_frames": 2, "border_margin": 0, **parameters},
    }
    return data_of(edge.post("/api/processing/workflow/start", json=body))


@pytest.fixture(scope="module")
def finished(platform, data_root: Path) -> tuple[str, Path, Path, list[dict]]:
    """A 2-FOV job run to completion; its SSE events were read while it ran."""
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge:
        return _run_to_completion(edge, data_root)


def _run_to_completion(edge, data_root: Path) -> tuple[str, Path, Path, list[dict]]:
    folder = data_root / "workflow-jobs"
    movie = write_cell_movie(folder / "cells.ome.tif", n_fovs=2, n_frames=6)
    output = folder / "out"
    started = start(edge, movie, output, n_workers=2)
    assert started["estimated_duration"] > 0
    events = []
    with edge.stream("GET", f"/api/processing/workflow/events/{started['job_id']}") as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    return started["job_id"], movie, output, events


def test_a_job_runs_every_fov_and_reports_its_results(edge, finished):
    job_id, movie, output, events = finished
    assert events[-1]["status"] == "completed"
    assert events[-1]["progress"]["percentage"] == 100.0
    assert events[-1]["progress"]["steps_completed"] == [
        "copying",
        "segmentation",
        "correction",
        "tracking",
        "extraction",
    ]
    assert any(event["status"] == "running" for event in events)
    status = data_of(edge.get(f"/api/processing/workflow/status/{job_id}"))
    assert status["progress"]["current_fov"] == status["progress"]["total_fovs"] == 2
    assert status["started_at"] <= status["updated_at"]

    results = data_of(edge.get(f"/api/processing/workflow/results/{job_id}"))
    assert results["output_dir"] == str(output)
    assert results["config_file"] == str(output / CONFIG_FILE_NAME)
    assert results["traces"] == [
        str(output / f"fov_{fov:03d}" / f"cells_fov_{fov:03d}_traces.csv") for fov in (0, 1)
    ]
    assert all(Path(path).is_file() for path in results["traces"])
    assert results["stats"]["total_frames"] == 12
    assert results["stats"]["total_cells"] > 0

    config = yaml.safe_load((output / CONFIG_FILE_NAME).read_text())
    assert config["microscopy_path"] == str(movie) and config["fovs"] == [0, 1]
    assert config["parameters"]["n_workers"] == 2
    assert config["parameters"]["background_method"] == "pspline"  # the default, recorded
    index = yaml.safe_load((output / RESULTS_INDEX_NAME).read_text())
    assert [fov["fov"] for fov in index["fovs"]] == [0, 1]
    assert index["traces"] == results["traces"]


def test_a_rest_job_is_the_same_job_in_mcp(platform, finished):
    job_id = finished[0]
    listed, task = call_tools(platform, ("list_tasks", {}), ("get_task", {"task_id": job_id}))
    assert job_id in {item["id"] for item in json.loads(listed.content[0].text)["tasks"]}
    record = json.loads(task.content[0].text)
    assert record["status"] == "completed" and record["type"] == "workflow"


def test_cancelling_a_finished_job_is_job_already_completed(edge, finished):
    body = error_of(
        edge.post(f"/api/processing/workflow/cancel/{finished[0]}"), 400, "JOB_ALREADY_COMPLETED"
    )
    assert "completed" in body["error"]


def test_overlay_draws_outlines_and_track_ids_over_the_frame(platform, edge, finished):
    job_id, movie, _, _ = finished
    params = {"file_path": str(movie), "fov": 1, "t": 3, "channel": 0}
    plain = edge.get("/api/processing/frame", params=params)
    drawn = edge.get("/api/processing/frame", params=params | {"overlay_job_id": job_id})
    assert drawn.status_code == 200, drawn.text
    image = np.asarray(Image.open(io.BytesIO(drawn.content)))
    assert (
        image.ndim == 3
        and image.shape[:2] == np.asarray(Image.open(io.BytesIO(plain.content))).shape
    )
    # Outlines are coloured; the plain frame is grey.
    assert (np.ptp(image.astype(int), axis=2) > 60).sum() > 20
    (preview,) = call_tools(
        platform, ("preview_frame", {**params, "overlay_task_id": job_id, "max_size": 0})
    )
    assert not preview.is_error and preview.content[0].type == "image"

    unprocessed = edge.get(
        "/api/processing/frame", params=params | {"fov": 5, "overlay_job_id": job_id}
    )
    error_of(unprocessed, 400, "INVALID_PARAMETERS")


def test_cancel_stops_the_work_within_a_frame(edge, data_root):
    folder = data_root / "workflow-cancel"
    movie = write_cell_movie(folder / "long.ome.tif", n_fovs=1, n_frames=150)
    output = folder / "out"
    job_id = start(edge, movie, output)["job_id"]
    deadline = time.monotonic() + 120
    progress = None
    while progress is None or progress.done < 2:
        assert time.monotonic() < deadline, "the job never got going"
        progress = read_progress(control_dir(output, job_id), 0)
        time.sleep(0.05)
    busy = edge.post(
        "/api/processing/workflow/start",
        json={
            "microscopy_path": str(movie),
            "output_dir": str(output),
            "channels": {"phase": {"channel": 0}},
        },
    )
    assert job_id in error_of(busy, 409, "ALREADY_EXISTS")["error"]
    data_of(edge.post(f"/api/processing/workflow/cancel/{job_id}"))
    status = wait_for(edge, job_id, {"cancelled", "failed", "completed"})
    assert status["status"] == "cancelled"
    stopped_at = read_progress(control_dir(output, job_id), 0)
    time.sleep(1.0)
    assert read_progress(control_dir(output, job_id), 0) == stopped_at  # nobody still working
    assert stopped_at.done < stopped_at.total or stopped_at.step != "extraction"
    assert not list(output.glob("fov_000/*_traces.csv"))
    error_of(edge.get(f"/api/processing/workflow/results/{job_id}"), 400, "INVALID_PARAMETERS")


def test_merge_of_a_finished_job_into_samples(edge, finished):
    _, _, output, _ = finished
    samples = output.parent / "samples.yaml"
    samples.write_text("samples:\n  - {name: control, fovs: '0'}\n  - {name: treated, fovs: [1]}\n")
    merged = data_of(
        edge.post(
            "/api/processing/merge",
            json={
                "sample_yaml": str(samples),
                "input_dir": str(output),
                "output_dir": str(output.parent / "merged"),
            },
        )
    )
    names = sorted(Path(path).name for path in merged["feature_files"])
    assert names == [
        f"{sample}_{feature}.csv"
        for sample in ("control", "treated")
        for feature in ("area_ch_0", "aspect_ratio_ch_0", "intensity_total_ch_1")
    ]
    assert merged["stats"]["samples_processed"] == 2 and merged["stats"]["total_cells"] > 0
    fov_rows = Path(output / "fov_001" / "cells_fov_001_traces.csv").read_text().splitlines()
    treated = Path(merged["merged_files"][1]).read_text().splitlines()
    assert treated == fov_rows


def test_a_completed_jobs_outputs_are_never_overwritten(platform, edge, finished):
    """A new job into the folder of a completed job is refused before it exists, naming
    the folder and that job; once the folder is gone it may be used again."""
    job_id, movie, output, _ = finished
    before = (output / RESULTS_INDEX_NAME).read_bytes()
    (tasks_before,) = call_tools(platform, ("list_tasks", {}))
    body = error_of(
        edge.post(
            "/api/processing/workflow/start",
            json={
                "microscopy_path": str(movie),
                "output_dir": str(output),
                "channels": {"phase": {"channel": 0}},
            },
        ),
        409,
        "ALREADY_EXISTS",
    )
    assert job_id in body["error"] and str(output) in body["error"]
    assert "choose another output_dir" in body["error"]
    assert (output / RESULTS_INDEX_NAME).read_bytes() == before
    (tasks_after,) = call_tools(platform, ("list_tasks", {}))
    assert tasks_after.content[0].text == tasks_before.content[0].text  # no job was made
    results = data_of(edge.get(f"/api/processing/workflow/results/{job_id}"))
    assert all(Path(path).is_file() for path in results["traces"])


def test_a_cancelled_jobs_leftovers_may_be_replaced(edge, data_root):
    folder = data_root / "workflow-replace"
    movie = write_cell_movie(folder / "cells.ome.tif", n_fovs=1, n_frames=40)
    output = folder / "out"
    first = start(edge, movie, output)["job_id"]
    data_of(edge.post(f"/api/processing/workflow/cancel/{first}"))
    assert wait_for(edge, first, {"cancelled", "failed", "completed"})["status"] == "cancelled"
    second = start(edge, movie, output, fov_start=0, fov_end=0)["job_id"]
    assert wait_for(edge, second, {"cancelled", "failed", "completed"}, 120)["status"] == (
        "completed"
    )
    error_of(
        edge.post(
            "/api/processing/workflow/start",
            json={
                "microscopy_path": str(movie),
                "output_dir": str(output),
                "channels": {"phase": {"channel": 0}},
            },
        ),
        409,
        "ALREADY_EXISTS",
    )
