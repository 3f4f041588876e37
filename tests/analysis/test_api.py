"""Fitting through the real platform: REST, SSE and MCP against the running services."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mcp import Client

from services.analysis.core.fitting import fit_all
from services.analysis.core.plan import plan_fit
from tests.analysis.synthetic import TIMES, maturation_traces, tidy_frame, workflow_frame, write_csv
from tests.microscopy.edge_api import data_of, error_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def folder(data_root: Path) -> Path:
    path = data_root / "fitting"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def tidy_csv(folder: Path):
    truth, values = maturation_traces(300, seed=21)
    values[7, 30:60] = np.nan  # a gap
    values[9, 2:] = np.nan  # FOV 0, cell 3: two points for three parameters, a failed fit
    return write_csv(tidy_frame(values, n_fovs=3), folder / "sample_a.csv"), truth, values


def wait_done(edge, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = data_of(edge.get(f"/api/analysis/fitting/status/{job_id}"))
        if status["status"] in ("completed", "failed", "cancelled"):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.1)


def assert_same_fits(table: pd.DataFrame, expected) -> None:
    """The results file holds the core's fits, cell by cell; failed fits have no values."""
    index = table["cell"] * 3 + table["fov"]  # tidy_frame spreads cells over 3 FOVs
    success = expected.success[index]
    assert list(table["success"]) == list(success)
    fitted = table[["amplitude", "rate", "offset"]].to_numpy()
    np.testing.assert_allclose(fitted[success], expected.params[index][success], rtol=1e-6)
    assert np.isnan(fitted[~success]).all()


def analysis_jobs(platform) -> int:
    store = platform.runners["analysis"].service.jobs.store
    return platform.loop.run(store.list())[1]


def test_models_lists_all_six_with_their_parameters(edge):
    models = {m["name"]: m for m in data_of(edge.get("/api/analysis/models"))}
    assert set(models) == {
        "trivial",
        "maturation",
        "translation_maturation",
        "translation",
        "maturation_blocked",
        "exponential_decay",
    }
    maturation = models["maturation"]
    assert maturation["equation"] == "f(t) = A * (1 - e^(-kt)) + B"
    assert [
        (p["name"], p["symbol"], p["default"], p["bounds"]) for p in maturation["parameters"]
    ] == [
        ("amplitude", "A", 1.0, [0.0, 10.0]),
        ("rate", "k", 0.1, [0.01, 1.0]),
        ("offset", "B", 0.0, [-1.0, 5.0]),
    ]
    assert models["trivial"]["parameters"][1]["bounds"] == [-5.0, 5.0]
    for model in models.values():
        assert model["description"] and model["parameters"]
        for parameter in model["parameters"]:
            assert parameter["description"] and isinstance(parameter["fixed"], bool)
    fixed = {p["name"] for p in models["translation_maturation"]["parameters"] if p["fixed"]}
    assert fixed == {"km", "beta", "scale"}


def test_load_traces_summarises_a_workflow_csv(edge, folder):
    _, values = maturation_traces(20, seed=22)
    values[2, 10:20] = np.nan
    path = write_csv(workflow_frame(values, n_fovs=4), folder / "exp_fov_000_traces.csv")
    summary = data_of(edge.post("/api/analysis/load-traces", json={"csv_path": str(path)}))
    assert summary["n_cells"] == 20 and summary["n_fovs"] == 4 and summary["n_timepoints"] == 181
    assert summary["time_units"] == "minutes"
    assert summary["time_range"] == {"min": 0.0, "max": 1800.0}
    assert summary["summary"] == {
        "mean_trace_count_per_cell": 180.5,
        "cells_with_gaps": 1,
        "total_observations": 20 * 181 - 10,
        "excluded_cells": 0,  # every row of workflow_frame is good
    }
    assert "intensity_total_ch_1" in summary["columns"]


def test_fitting_job_from_start_to_results_and_pictures(edge, tidy_csv, folder):
    path, _, values = tidy_csv
    body = {
        "csv_path": str(path),
        "model_type": "maturation",
        "model_params": {"amplitude": 1.5, "rate": 0.2, "offset": 0.1},
        "model_bounds": {"offset": [-1.0, 3.0]},
    }
    started = data_of(edge.post("/api/analysis/fitting/start", json=body))
    assert started["message"].startswith("Fitting analysis started")
    status = wait_done(edge, started["job_id"])
    assert status["status"] == "completed", status
    progress = status["progress"]
    assert progress["current_cell"] == progress["total_cells"] == 300
    assert progress["percentage"] == 100.0
    assert progress["successful_fits"] == 299 and progress["failed_fits"] == 1
    assert 0.9 < progress["average_r_squared"] <= 1.0
    assert status["current_params"]["model_type"] == "maturation"

    results = data_of(edge.get(f"/api/analysis/fitting/results/{started['job_id']}"))
    results_file = folder / f"sample_a_fitted_maturation_{started['job_id']}.csv"
    assert results["results_file"] == str(results_file.resolve())
    assert results["summary"]["total_cells"] == 300 and results["summary"]["failed_fits"] == 1
    assert sum(results["quality_distribution"].values()) == 300
    assert [p["name"] for p in results["parameters"]] == ["amplitude", "rate", "offset"]
    table = pd.read_csv(results_file)
    assert list(table.columns) == [
        "fov", "cell", "model_type", "success", "r_squared", "amplitude", "rate", "offset"
    ]  # fmt: skip
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    # The same numbers as the core fit of the same request, cell by cell.
    plan = plan_fit("maturation", body["model_params"], {"offset": (-1.0, 3.0)})
    assert_same_fits(table, fit_all(plan, TIMES, values))
    stats = results["parameters"][1]
    assert stats["mean"] == pytest.approx(table["rate"].mean())
    assert stats["min"] == pytest.approx(table["rate"].min())

    plot = edge.get(f"/api/analysis/fitting/plot/{started['job_id']}", params={"fov": 1, "cell": 2})
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"
    assert plot.content.startswith(PNG_MAGIC) and plot.headers["x-fit-success"] == "true"
    histogram = edge.get(
        f"/api/analysis/fitting/histogram/{started['job_id']}", params={"parameter": "rate"}
    )
    assert histogram.status_code == 200 and histogram.content.startswith(PNG_MAGIC)
    failed = edge.get(f"/api/analysis/fitting/plot/{started['job_id']}", params={"cell": 3})
    assert failed.status_code == 200 and failed.headers["x-fit-success"] == "false"
    missing = edge.get(f"/api/analysis/fitting/plot/{started['job_id']}", params={"cell": 999})
    assert "no cell 999 in FOV 0" in error_of(missing, 400, "INVALID_PARAMETERS")["error"]
    unknown = edge.get(
        f"/api/analysis/fitting/histogram/{started['job_id']}", params={"parameter": "speed"}
    )
    assert "unknown parameter 'speed'" in error_of(unknown, 400, "INVALID_PARAMETERS")["error"]

    # The progress stream of a finished job: its final state, then the end.
    with edge.stream("GET", f"/api/analysis/fitting/events/{started['job_id']}") as stream:
        events = [json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:")]
    assert events[-1]["status"] == "completed" and events[-1]["progress"]["total_cells"] == 300


BAD_REQUESTS = [
    ({"model_type": "sigmoid"}, "unknown model 'sigmoid'"),
    ({"model_bounds": {"rate": [1.0, 0.1]}}, "bounds of rate are inverted"),
    ({"model_params": {"rate": 2.0}}, "initial value 2.0 of rate is outside its bounds"),
    ({"model_params": {"speed": 2.0}}, "unknown parameter(s) speed in model_params"),
    ({"model_bounds": {"speed": [0, 1]}}, "unknown parameter(s) speed in model_bounds"),
    ({"options": {"columns": {"cell_column": "track"}}}, "missing column(s) track"),
    ({"options": {"columns": {"value_column": "gfp"}}}, "value column 'gfp' not found"),
    ({"csv_path": "fitting/empty.csv"}, "empty.csv is empty"),
    ({"csv_path": "fitting/malformed.csv"}, "is not a readable CSV"),
]


def test_two_fits_of_one_csv_keep_their_own_results(edge, tidy_csv):
    """Two jobs fitting the same CSV with different parameters: each reports,
    summarises and draws its own fit, never the other's; the files are created
    as other outputs are (readable by the group, as the umask allows)."""
    path, _, _ = tidy_csv
    bodies = [
        {"csv_path": str(path), "model_type": "maturation"},
        {
            "csv_path": str(path),
            "model_type": "maturation",
            # a fit forced far from the truth
            "model_params": {"rate": 5.5},
            "model_bounds": {"rate": [5.0, 6.0]},
        },
    ]
    jobs = [data_of(edge.post("/api/analysis/fitting/start", json=b))["job_id"] for b in bodies]
    for job_id in jobs:
        assert wait_done(edge, job_id)["status"] == "completed"
    results = [data_of(edge.get(f"/api/analysis/fitting/results/{j}")) for j in jobs]
    files = [Path(r["results_file"]) for r in results]
    assert files[0] != files[1] and all(f.is_file() for f in files)
    rates = [pd.read_csv(f)["rate"] for f in files]
    assert rates[1].min() >= 5.0 > rates[0].max()
    for result, rate in zip(results, rates, strict=True):
        (summary,) = [p for p in result["parameters"] if p["name"] == "rate"]
        assert summary["mean"] == pytest.approx(rate.mean())
    umask = os.umask(0o022)
    os.umask(umask)
    assert all(f.stat().st_mode & 0o777 == 0o666 & ~umask for f in files)


@pytest.mark.parametrize(("change", "message"), BAD_REQUESTS)
def test_bad_requests_are_400_before_any_job_exists(
    platform, edge, tidy_csv, folder, change, message
):
    (folder / "empty.csv").write_text("")
    (folder / "malformed.csv").write_text('time,cell,value\n0,1,"2\n')
    body = {"csv_path": str(tidy_csv[0]), "model_type": "maturation", **change}
    before = analysis_jobs(platform)
    response = edge.post("/api/analysis/fitting/start", json=body)
    assert message in error_of(response, 400, "INVALID_PARAMETERS")["error"]
    assert analysis_jobs(platform) == before


def test_a_path_outside_the_data_roots_is_403(platform, edge, tmp_path):
    outside = write_csv(tidy_frame(np.ones((2, 5)), TIMES[:5]), tmp_path / "outside.csv")
    before = analysis_jobs(platform)
    for route, body in (
        ("fitting/start", {"csv_path": str(outside), "model_type": "maturation"}),
        ("load-traces", {"csv_path": str(outside)}),
    ):
        error_of(edge.post(f"/api/analysis/{route}", json=body), 403, "FORBIDDEN")
    assert analysis_jobs(platform) == before


def test_cancel_stops_a_running_fit(platform, edge, folder):
    _, values = maturation_traces(3000, seed=23)
    path = write_csv(tidy_frame(values[:, :20], TIMES[:20]), folder / "many.csv")
    settings = platform.runners["analysis"].service.fitting.settings
    chunk = settings.chunk_cells
    settings.chunk_cells = 1  # thousands of small chunks: time to cancel in between
    try:
        body = {"csv_path": str(path), "model_type": "maturation"}
        job_id = data_of(edge.post("/api/analysis/fitting/start", json=body))["job_id"]
        while data_of(edge.get(f"/api/analysis/fitting/status/{job_id}"))["status"] == "pending":
            time.sleep(0.01)
        cancelled = data_of(edge.post(f"/api/analysis/fitting/cancel/{job_id}"))
        assert cancelled["status"] in ("cancelling", "cancelled")
        status = wait_done(edge, job_id)
    finally:
        settings.chunk_cells = chunk
    assert status["status"] == "cancelled"
    assert status["progress"]["current_cell"] < 3000
    assert not list(folder.glob("many_fitted_maturation*.csv"))
    error_of(edge.get(f"/api/analysis/fitting/results/{job_id}"), 400, "FAILED_PRECONDITION")


def test_mcp_tools_fit_and_draw(platform, tidy_csv):
    path = str(tidy_csv[0])

    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            models = await client.call_tool("list_fitting_models", {})
            loaded = await client.call_tool("load_traces", {"csv_path": path})
            started = await client.call_tool(
                "start_fitting",
                {
                    "csv_path": path,
                    "model_type": "exponential_decay",
                    "model_bounds": {"amplitude": [-10, 10]},
                },
            )
            job_id = json.loads(started.content[0].text)["job_id"]
            progress: list[tuple[float, float | None]] = []

            async def on_progress(done: float, total: float | None, message: str | None):
                progress.append((done, total))

            waited = await client.call_tool(
                "wait_for_fitting", {"job_id": job_id}, progress_callback=on_progress
            )
            status = json.loads(
                (await client.call_tool("get_fitting_status", {"job_id": job_id})).content[0].text
            )
            assert json.loads(waited.content[0].text)["status"] == status["status"]
            assert progress and progress[-1] == (300, 300)
            results = await client.call_tool("get_fitting_results", {"job_id": job_id})
            plot = await client.call_tool("plot_cell_fit", {"job_id": job_id, "cell": 0, "fov": 0})
            histogram = await client.call_tool(
                "plot_parameter_histogram", {"job_id": job_id, "parameter": "rate"}
            )
            bad = await client.call_tool("start_fitting", {"csv_path": path, "model_type": "nope"})
            return tools, models, loaded, status, results, plot, histogram, bad

    tools, models, loaded, status, results, plot, histogram, bad = asyncio.run(session())
    assert tools >= {
        "list_fitting_models",
        "load_traces",
        "start_fitting",
        "get_fitting_status",
        "get_fitting_results",
        "wait_for_fitting",
        "plot_cell_fit",
        "plot_parameter_histogram",
    }
    assert len(models.structured_content["result"]) == 6
    assert json.loads(loaded.content[0].text)["n_cells"] == 300
    assert status["status"] == "completed"
    assert json.loads(results.content[0].text)["results_file"].endswith(
        f"sample_a_fitted_exponential_decay_{status['job_id']}.csv"
    )
    for image in (plot, histogram):
        (content,) = image.content
        assert (content.type, content.mime_type) == ("image", "image/png")
        assert base64.b64decode(content.data).startswith(PNG_MAGIC)
    assert bad.is_error and "INVALID_PARAMETERS" in bad.content[0].text


@pytest.mark.slow
def test_a_large_job_runs_on_the_process_pool_with_the_same_results(platform, edge, tidy_csv):
    path, _, values = tidy_csv
    fitting = platform.runners["analysis"].service.fitting
    threshold, chunk = fitting.settings.pool_min_cells, fitting.settings.chunk_cells
    fitting.settings.pool_min_cells, fitting.settings.chunk_cells = 100, 64
    try:
        body = {
            "csv_path": str(path),
            "model_type": "maturation",
            "options": {"parallel": True, "n_workers": 2},
        }
        job_id = data_of(edge.post("/api/analysis/fitting/start", json=body))["job_id"]
        assert wait_done(edge, job_id, timeout=300)["status"] == "completed"
    finally:
        fitting.settings.pool_min_cells, fitting.settings.chunk_cells = threshold, chunk
    assert fitting._pool is not None  # the pool did the work
    results = data_of(edge.get(f"/api/analysis/fitting/results/{job_id}"))
    table = pd.read_csv(results["results_file"])
    assert_same_fits(table, fit_all(plan_fit("maturation"), TIMES, values))


@pytest.mark.slow
def test_with_a_dask_scheduler_the_chunks_run_on_the_cluster(platform, edge, tidy_csv):
    distributed = pytest.importorskip("distributed")
    path, _, values = tidy_csv
    fitting = platform.runners["analysis"].service.fitting
    saved = (fitting.settings.pool_min_cells, fitting._dask_scheduler, fitting._pool)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        fitting.settings.pool_min_cells = 100
        fitting._dask_scheduler, fitting._pool = cluster.scheduler_address, None
        try:
            body = {"csv_path": str(path), "model_type": "maturation"}
            job_id = data_of(edge.post("/api/analysis/fitting/start", json=body))["job_id"]
            assert wait_done(edge, job_id, timeout=300)["status"] == "completed"
            ran = set(cluster.scheduler.task_prefixes)  # what the cluster ran
        finally:
            fitting.close()
            fitting.settings.pool_min_cells, fitting._dask_scheduler, fitting._pool = saved
    assert "fit_chunk" in ran
    results = data_of(edge.get(f"/api/analysis/fitting/results/{job_id}"))
    assert_same_fits(
        pd.read_csv(results["results_file"]), fit_all(plan_fit("maturation"), TIMES, values)
    )
