"""The workbench on the real platform (issue 21): a real workflow's cells listed over
REST and MCP, cells marked bad through both and the CSV changed, samples saved from
the API and merged, merge, load-traces and fitting leaving the bad cells out (and
the switch that keeps them), and the fitted-results explorer agreeing with the
results file; every bad request a 4xx naming the problem."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from PIL import Image

from tests.microscopy.edge_api import data_of, error_of
from tests.microscopy.test_workflow_api import call_tools, wait_for
from tests.microscopy.workflow_movies import write_cell_movie


@pytest.fixture(scope="module")
def workflow(platform, data_root: Path) -> dict:
    """A finished 2-FOV workflow: its job id, output folder and trace CSVs."""
    folder = data_root / "workbench"
    movie = write_cell_movie(folder / "cells.ome.tif", n_fovs=2, n_frames=6)
    body = {
        "microscopy_path": str(movie),
        "output_dir": str(folder / "out"),
        "channels": {
            "phase": {"channel": 0, "features": ["area"]},
            "fluorescence": [{"channel": 1, "features": ["intensity_total"]}],
        },
        "parameters": {"min_frames": 2, "border_margin": 0},
    }
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge:
        job_id = data_of(edge.post("/api/processing/workflow/start", json=body))["job_id"]
        assert wait_for(edge, job_id, {"completed", "failed"}, timeout=300)["status"] == "completed"
        results = data_of(edge.get(f"/api/processing/workflow/results/{job_id}"))
    return {"job_id": job_id, "folder": folder, "output": folder / "out", **results}


def good_cells(path: str) -> dict[tuple[int, int], bool]:
    table = pd.read_csv(path, dtype={"good": str})
    flags = table["good"].str.lower() == "true"
    return {
        (int(f), int(c)): bool(g)
        for (f, c), g in flags.groupby([table["fov"], table["cell"]]).all().items()
    }


def wait_for_fit(edge: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + 120
    while True:
        status = data_of(edge.get(f"/api/analysis/fitting/status/{job_id}"))
        if status["status"] in {"completed", "failed"} or time.monotonic() > deadline:
            assert status["status"] == "completed", status
            return data_of(edge.get(f"/api/analysis/fitting/results/{job_id}"))
        time.sleep(0.1)


def fit(edge: httpx.Client, csv_path: str, **options) -> dict:
    body = {"csv_path": csv_path, "model_type": "maturation", "options": options}
    started = data_of(edge.post("/api/analysis/fitting/start", json=body))
    return {"job_id": started["job_id"], **wait_for_fit(edge, started["job_id"])}


def test_marks_through_rest_and_mcp_reach_the_csv_merge_load_and_fitting(platform, edge, workflow):
    fov0, fov1 = workflow["traces"]
    listed = data_of(edge.get("/api/processing/cells", params={"traces_path": fov0}))
    n0, n1 = len(good_cells(fov0)), len(good_cells(fov1))
    assert listed["all_cells"] == n0 >= 2 and n1 >= 2
    assert listed["features"] == ["area_ch_0", "intensity_total_ch_1"]
    first, second = listed["cells"][0], listed["cells"][1]
    assert first["good"] is True and first["n_frames"] == 6

    # One cell bad through REST, the usual envelope; the CSV says so.
    marked = edge.post(
        "/api/processing/cells/quality",
        json={"traces_path": fov0, "cells": [{"fov": 0, "cell": first["cell"], "good": False}]},
    )
    assert marked.json()["success"] is True
    assert data_of(marked)["cells_changed"] == 1
    assert good_cells(fov0)[(0, int(first["cell"]))] is False

    # Another through MCP.
    (result,) = call_tools(
        platform,
        (
            "set_cell_quality",
            {"traces_path": fov1, "cells": [{"fov": 1, "cell": second["cell"], "good": False}]},
        ),
    )
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[0].text)["cells_changed"] == 1
    assert good_cells(fov1)[(1, int(second["cell"]))] is False
    (seen,) = call_tools(platform, ("list_cells", {"traces_path": fov1, "good": False}))
    assert [c["cell"] for c in json.loads(seen.content[0].text)["cells"]] == [second["cell"]]

    # Samples saved from the API and merged in one step: the bad cells are left out.
    folder = workflow["folder"]
    saved = data_of(
        edge.post(
            "/api/processing/samples",
            json={
                "sample_yaml": str(folder / "samples.yaml"),
                "samples": [{"name": "control", "fovs": "0"}, {"name": "treated", "fovs": [1]}],
                "input_dir": str(workflow["output"]),
                "merge_output_dir": str(folder / "merged"),
            },
        )
    )
    assert saved["samples"] == [
        {"name": "control", "fovs": "0"},
        {"name": "treated", "fovs": "1"},
    ]
    assert saved["merge"]["stats"]["total_cells"] == n0 + n1 - 2  # 2 marked bad
    tidy = pd.read_csv(folder / "merged" / "control_intensity_total_ch_1.csv")
    assert int(first["cell"]) not in set(tidy["cell"])
    loaded = data_of(
        edge.get(
            "/api/processing/samples",
            params={
                "sample_yaml": str(folder / "samples.yaml"),
                "input_dir": str(workflow["output"]),
            },
        )
    )
    assert loaded["available_fovs"] == [0, 1] and loaded["samples"] == saved["samples"]

    # load-traces and fitting leave the bad cell out by default; the switch keeps it.
    merged = str(folder / "merged" / "control_merged.csv")
    summary = data_of(edge.post("/api/analysis/load-traces", json={"csv_path": merged}))
    assert (summary["n_cells"], summary["summary"]["excluded_cells"]) == (n0 - 1, 1)
    everything = data_of(
        edge.post("/api/analysis/load-traces", json={"csv_path": merged, "include_bad_cells": True})
    )
    assert everything["n_cells"] == n0
    without = fit(edge, merged)
    assert without["summary"]["total_cells"] == n0 - 1
    rows = pd.read_csv(without["results_file"])
    assert int(first["cell"]) not in set(rows["cell"])
    with_bad = fit(edge, merged, include_bad_cells=True)
    assert with_bad["summary"]["total_cells"] == n0

    # Undo: the cell is good again, and counted again.
    data_of(
        edge.post(
            "/api/processing/cells/quality",
            json={"traces_path": fov0, "cells": [{"fov": 0, "cell": first["cell"], "good": True}]},
        )
    )
    assert all(good_cells(fov0).values())


def test_the_explorer_agrees_with_the_results_files(platform, edge, workflow):
    fov0, fov1 = workflow["traces"]
    jobs = [fit(edge, fov0, include_bad_cells=True), fit(edge, fov1, include_bad_cells=True)]
    ids = [job["job_id"] for job in jobs]
    table = data_of(edge.get("/api/analysis/fitting/cells", params={"job_ids": ids, "limit": 50}))
    assert table["model_type"] == "maturation"
    assert [s["name"] for s in table["samples"]] == [Path(fov0).stem, Path(fov1).stem]
    expected = pd.concat([pd.read_csv(job["results_file"]) for job in jobs], ignore_index=True)
    assert table["total_cells"] == len(expected)
    by_cell = {(c["sample"], int(c["fov"]), int(c["cell"])): c for c in table["cells"]}
    for job, sample in zip(jobs, table["samples"], strict=True):
        for row in pd.read_csv(job["results_file"]).itertuples():
            cell = by_cell[(sample["name"], row.fov, row.cell)]
            assert cell["r_squared"] == pytest.approx(row.r_squared)
            for name in table["parameter_names"]:
                value = getattr(row, name)
                if row.success:
                    assert cell["parameters"][name] == pytest.approx(value)
                else:  # a failed fit has no parameters
                    assert name not in cell["parameters"]

    # Filters: r² and sample; sorted by a parameter.
    threshold = float(expected["r_squared"].median())
    kept = data_of(
        edge.get(
            "/api/analysis/fitting/cells",
            params={"job_ids": ids, "min_r_squared": threshold, "sample": Path(fov1).stem},
        )
    )
    assert kept["total_cells"] == int(
        (pd.read_csv(jobs[1]["results_file"])["r_squared"] >= threshold).sum()
    )
    exported = edge.get(
        "/api/analysis/fitting/cells.csv", params={"job_ids": ids, "min_r_squared": threshold}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == int((expected["r_squared"] >= threshold).sum())
    assert list(rows[0])[:7] == ["sample", "job_id", "fov", "cell", "success", "r_squared", "good"]

    parameter = table["parameter_names"][0]
    for route, params in (
        ("compare/histogram", {"parameter": parameter}),
        ("compare/scatter", {"x": parameter, "y": table["parameter_names"][1]}),
    ):
        picture = edge.get(f"/api/analysis/fitting/{route}", params={"job_ids": ids, **params})
        assert picture.status_code == 200, picture.text
        assert Image.open(io.BytesIO(picture.content)).size == (640, 400)
    (image,) = call_tools(
        platform, ("plot_parameter_by_sample", {"job_ids": ids, "parameter": parameter})
    )
    assert image.content[0].type == "image" and image.content[0].mime_type == "image/png"
    error_of(
        edge.get(
            "/api/analysis/fitting/compare/histogram",
            params={"job_ids": ids, "parameter": "volume"},
        ),
        400,
        "INVALID_PARAMETERS",
    )


def test_a_cell_in_detail_and_its_crops(edge, workflow):
    fov0 = workflow["traces"][0]
    detail = data_of(
        edge.get("/api/processing/cells/detail", params={"traces_path": fov0, "cell": 0})
    )
    series = {s["name"]: s["values"] for s in detail["series"]}
    rows = pd.read_csv(fov0)
    assert series["frame"] == rows.loc[rows["cell"] == 0, "frame"].astype(float).tolist()
    strip = edge.get(
        "/api/processing/cells/strip",
        params={"traces_path": fov0, "cell": 0, "channel": 1, "n_crops": 3},
    )
    assert strip.status_code == 200
    assert strip.headers["x-frames"] == "0,2,5" or len(strip.headers["x-frames"].split(",")) == 3
    assert Image.open(io.BytesIO(strip.content)).size == (3 * 96 + 4, 96 + 16)

    frame = edge.get("/api/processing/cells/frame", params={"traces_path": fov0, "t": 1})
    assert frame.status_code == 200
    assert (frame.headers["x-frame-count"], frame.headers["x-frame-width"]) == ("6", "288")
    row = rows[(rows["frame"] == 1)].iloc[0]
    found = data_of(
        edge.get(
            "/api/processing/cells/at",
            params={
                "traces_path": fov0,
                "t": 1,
                "x": round(row["position_x"]),
                "y": round(row["position_y"]),
            },
        )
    )
    assert (found["found"], found["cell"]) == (True, row["cell"])
    error_of(
        edge.get("/api/processing/cells/at", params={"traces_path": fov0, "x": 999, "y": 0}),
        400,
        "INVALID_PARAMETERS",
    )


def test_bad_requests_are_4xx_naming_the_problem(edge, workflow):
    fov0 = workflow["traces"][0]
    before = Path(fov0).read_bytes()
    cases = [
        (
            edge.post(
                "/api/processing/cells/quality",
                json={"traces_path": fov0, "cells": [{"fov": 0, "cell": 99, "good": False}]},
            ),
            400,
            "has no FOV 0 cell 99",
        ),
        (
            edge.post(
                "/api/processing/cells/quality",
                json={"traces_path": fov0, "cells": [{"fov": 7, "cell": 0, "good": False}]},
            ),
            400,
            "has no FOV 7 cell 0",
        ),
        (
            edge.get("/api/processing/cells/detail", params={"traces_path": fov0, "cell": 42}),
            400,
            "no cell 42 in FOV 0",
        ),
        (
            edge.get("/api/processing/cells", params={"traces_path": fov0, "sort_by": "volume"}),
            400,
            "cannot sort by 'volume'",
        ),
        (
            edge.post(
                "/api/processing/samples",
                json={
                    "sample_yaml": str(workflow["folder"] / "bad.yaml"),
                    "samples": [{"name": "a", "fovs": "0-"}],
                    "input_dir": str(workflow["output"]),
                },
            ),
            400,
            "sample 'a'",
        ),
        (
            edge.post(
                "/api/processing/samples",
                json={
                    "sample_yaml": str(workflow["folder"] / "bad.yaml"),
                    "samples": [{"name": "a", "fovs": "0-3"}],
                    "input_dir": str(workflow["output"]),
                },
            ),
            400,
            "FOV 2-3",
        ),
        (edge.get("/api/processing/cells", params={"traces_path": "/etc/passwd"}), 403, ""),
    ]
    for response, status, text in cases:
        body = response.json()
        assert response.status_code == status, response.text
        assert body["success"] is False and text in body["error"]
    assert Path(fov0).read_bytes() == before
    assert not (workflow["folder"] / "bad.yaml").exists()
    rule = edge.post(
        "/api/processing/cells/quality", json={"traces_path": fov0, "rule": {"good": False}}
    )
    assert rule.status_code == 400 and "min_frames or border_margin" in rule.text


def test_marks_wait_for_a_workflow_writing_the_folder(platform, edge, data_root):
    folder = data_root / "workbench-busy" / "out"
    (folder / "fov_000").mkdir(parents=True)
    traces = folder / "fov_000" / "m_fov_000_traces.csv"
    header = "fov,cell,frame,time,good,position_x,position_y,bbox_x0,bbox_y0,bbox_x1,bbox_y1\n"
    traces.write_text(header + "0,0,0,0.0,True,5,5,0,0,9,9\n")

    async def submit():
        runner = platform.runners["microscopy"].service.jobs
        return await runner.submit("workflow", _wait_forever, labels={"output_dir": str(folder)})

    job = platform.loop.run(submit())
    try:
        body = error_of(
            edge.post(
                "/api/processing/cells/quality",
                json={"traces_path": str(traces), "cells": [{"fov": 0, "cell": 0, "good": False}]},
            ),
            409,
            "ALREADY_EXISTS",
        )
        assert job.id in body["error"]
        assert "True" in traces.read_text()
    finally:
        edge.post(f"/api/processing/workflow/cancel/{job.id}")


async def _wait_forever(context):
    import asyncio

    await asyncio.Event().wait()
