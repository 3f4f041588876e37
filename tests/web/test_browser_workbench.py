"""The workbench in real Chromium (issue 21): the cell inspector (a cell's trace as an
interactive chart, its crops, keyboard stepping, marking a cell bad and seeing the
CSV change), the samples editor saving and merging, and the fitted-results explorer
(table, per-sample histogram and scatter as Chart.js charts, one cell's fit)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from services.microscopy.core.workflow.pipeline import ChannelSpec, FovTask, PipelineParams, run_fov
from testing.synthetic_movie import SyntheticCell, SyntheticMovie, dividing
from tests.analysis.synthetic import curves, maturation_truth, noisy, tidy_frame
from tests.microscopy.workflow_movies import write_cell_movie

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def output(data_root: Path) -> Path:
    """A real workflow output of two FOVs (FOV 1 a relabelled copy of FOV 0)."""
    folder = data_root / "browser-workbench"
    folder.mkdir(exist_ok=True)
    movie = SyntheticMovie(
        [
            SyntheticCell(0, 90, 90, 15, 18, vx=2.0),
            SyntheticCell(1, 240, 100, 14, 14, start=3),
            *dividing(2, 230, 240, at=4, daughter_ids=(3, 4)),
        ],
        8,
        320,
        320,
        seed=3,
    )
    path = movie.write_ome_tiff(folder / "movie.ome.tif")
    task = FovTask(
        microscopy_path=str(path),
        fov=0,
        output_dir=str(folder / "out"),
        phase=ChannelSpec(0, ("area",)),
        fluorescence=(ChannelSpec(1, ("intensity_total",)),),
        params=PipelineParams(min_frames=2, border_margin=10),
    )
    run_fov(task)
    source = folder / "out" / "fov_000"
    target = folder / "out" / "fov_001"
    target.mkdir(exist_ok=True)
    table = pd.read_csv(source / "movie_fov_000_traces.csv")
    table["fov"] = 1
    table.to_csv(target / "movie_fov_001_traces.csv", index=False)
    return folder / "out"


def no_errors(app) -> None:
    assert app.page_errors == []
    assert [r for r in app.failed_responses if r[0] >= 500] == []


def test_inspect_step_and_mark_cells(app_page, output):
    app, page = app_page, app_page.page
    traces = output / "fov_000" / "movie_fov_000_traces.csv"
    app.open(f"cells?traces={traces}")
    page.locator("#cells-table tbody tr").first.wait_for()
    rows = page.locator("#cells-table tbody tr")
    n_cells = pd.read_csv(traces)["cell"].nunique()
    assert rows.count() == n_cells

    # The frame viewer: clicking a cell's centre opens that cell.
    page.wait_for_function("() => document.querySelector('#cells-frame').naturalWidth > 0")
    table = pd.read_csv(traces)
    target = table[(table["frame"] == 0)].iloc[-1]
    box = page.locator("#cells-frame").bounding_box()
    page.mouse.click(
        box["x"] + (target["position_x"] + 0.5) * box["width"] / 320,
        box["y"] + (target["position_y"] + 0.5) * box["height"] / 320,
    )
    page.wait_for_function(
        "(cell) => document.querySelector('#cell-detail h2')?.textContent.endsWith(cell)",
        arg=f"cell {int(target['cell'])}",
    )
    rows.nth(0).click()
    page.wait_for_function(
        "() => document.querySelector('#cell-detail h2')?.textContent.endsWith('cell 0')"
    )
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('#trace-chart'))"
    )
    page.wait_for_function("() => document.querySelector('#cell-strip').naturalWidth > 0")
    points = page.evaluate(
        "() => Chart.getChart(document.querySelector('#trace-chart')).data.datasets[0].data.length"
    )
    first = int(rows.nth(0).get_attribute("data-cell").split(":")[1])
    assert points == int((pd.read_csv(traces)["cell"] == first).sum())

    # The keyboard: j steps to the next cell, b marks it bad in the CSV.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.locator("#cells-table tr.selected[data-index='1']").wait_for()
    second = int(rows.nth(1).get_attribute("data-cell").split(":")[1])
    page.keyboard.press("b")
    page.locator(f"#cells-table tbody tr.bad[data-cell='0:{second}']").wait_for()
    page.locator("#cell-good.bad").wait_for()
    page.wait_for_function("() => document.querySelector('#cell-strip').naturalWidth > 0")
    flags = pd.read_csv(traces, dtype={"good": str})
    assert set(flags.loc[flags["cell"] == second, "good"]) == {"False"}
    app.shot("cells-inspector")

    # A daughter's lineage link opens its parent.
    daughters = flags.loc[flags["parent"] >= 0]
    if not daughters.empty:
        daughter = int(daughters["cell"].iloc[0])
        parent = int(daughters["parent"].iloc[0])
        page.locator(f"#cells-table tbody tr[data-cell='0:{daughter}']").click()
        page.get_by_role("button", name=f"parent {parent}").click()
        page.wait_for_function(
            "(cell) => document.querySelector('#cell-detail h2').textContent.endsWith(cell)",
            arg=f"cell {parent}",
        )
    # Undo from the button: the cell is good again.
    page.locator(f"#cells-table tbody tr[data-cell='0:{second}']").click()
    page.locator("#mark-good").click()
    page.locator("#cell-good.good").wait_for()
    flags = pd.read_csv(traces, dtype={"good": str})
    assert set(flags.loc[flags["cell"] == second, "good"]) == {"True"}
    no_errors(app)


def test_samples_editor_saves_and_merges(app_page, output):
    app, page = app_page, app_page.page
    app.open(f"samples?out={output}")
    page.locator("#sample-rows tr").first.wait_for()
    assert "FOVs with traces: 0-1" in page.locator("#available-fovs").inner_text()
    first = page.locator("#sample-rows tr").nth(0)
    first.locator('[name="name"]').fill("control")
    first.locator('[name="fovs"]').fill("0")
    page.locator("#add-sample").click()
    second = page.locator("#sample-rows tr").nth(1)
    second.locator('[name="name"]').fill("treated")
    second.locator('[name="fovs"]').fill("1-3")
    page.locator("#save-and-merge").click()
    page.locator(".notice.error").wait_for()
    assert "FOV 2-3" in page.locator(".notice.error").inner_text()
    assert not (output / "samples.yaml").exists()

    second.locator('[name="fovs"]').fill("1")
    page.locator("#save-and-merge").click()
    page.locator(".notice.success").wait_for()
    page.locator("#merged-files li").first.wait_for()
    assert (output / "samples.yaml").read_text().startswith("samples:")
    assert (output / "merged" / "treated_merged.csv").is_file()
    app.shot("samples-editor")
    no_errors(app)


def fit(base_url: str, csv_path: Path) -> str:
    with httpx.Client(base_url=base_url, timeout=60) as edge:
        body = {"csv_path": str(csv_path), "model_type": "maturation"}
        job_id = edge.post("/api/analysis/fitting/start", json=body).json()["data"]["job_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = edge.get(f"/api/analysis/fitting/status/{job_id}").json()["data"]["status"]
            if status in {"completed", "failed"}:
                assert status == "completed"
                return job_id
            time.sleep(0.1)
    raise AssertionError("the fit did not finish")


def sample_traces(folder: Path, name: str, rate_scale: float, seed: int) -> Path:
    """A sample's tidy traces (time in hours) of maturation kinetics with known rates."""
    rng = np.random.default_rng(seed)
    truth = maturation_truth(30, rng)
    truth[:, 1] *= rate_scale
    values = noisy(curves("maturation", truth), truth[:, 0] / 20.0, rng)
    path = folder / f"{name}_merged.csv"
    tidy_frame(values).to_csv(path, index=False)
    return path


def test_explorer_plots_and_one_cells_fit(app_page, platform, data_root):
    app, page = app_page, app_page.page
    folder = data_root / "browser-explorer"
    folder.mkdir(exist_ok=True)
    samples = [sample_traces(folder, "control", 1.0, 1), sample_traces(folder, "treated", 0.4, 2)]
    jobs = [fit(platform.base_url, path) for path in samples]
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge:
        table = edge.get(
            "/api/analysis/fitting/cells", params={"job_ids": jobs, "successful_only": True}
        ).json()["data"]
    assert [s["name"] for s in table["samples"]] == ["control", "treated"]
    app.open(f"explorer?jobs={','.join(jobs)}")
    page.locator("#fitted-table tbody tr").first.wait_for()
    assert page.locator("#fitted-table tbody tr").count() == table["total_cells"]
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('#scatter-chart'))"
    )
    datasets = page.evaluate(
        """() => ['#histogram-chart', '#scatter-chart'].map(
            (id) => Chart.getChart(document.querySelector(id)).data.datasets.length)"""
    )
    assert datasets == [2, 2]  # one per sample
    counted = page.evaluate(
        """() => Chart.getChart(document.querySelector('#histogram-chart')).data.datasets
                 .map((d) => d.data.reduce((a, b) => a + b, 0))"""
    )
    assert sum(counted) == table["total_cells"]
    page.select_option("#histogram-parameter", "rate")
    page.select_option("#scatter-x", "rate")
    page.select_option("#scatter-y", "amplitude")
    # The r² filter narrows the table to what the API says.
    page.fill("#filter-r2", "0.95")
    page.locator("#filter-r2").dispatch_event("change")
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge:
        kept = edge.get(
            "/api/analysis/fitting/cells",
            params={"job_ids": jobs, "successful_only": True, "min_r_squared": 0.95},
        ).json()["data"]["total_cells"]
    page.wait_for_function(
        "(n) => document.querySelectorAll('#fitted-table tbody tr').length === n", arg=kept
    )
    page.locator("#fitted-table tbody tr").first.click()
    page.wait_for_function("() => document.querySelector('#explorer-cell-plot').naturalWidth > 0")
    app.shot("results-explorer")
    no_errors(app)


def test_the_processing_form_offers_choices_not_free_text(app_page, data_root):
    movie = write_cell_movie(data_root / "browser-form" / "named.ome.tif", n_fovs=1, n_frames=2)
    app, page = app_page, app_page.page
    app.open("microscopy")
    # Before any file's metadata is loaded, the channel is a number to type.
    page.locator('#workflow-form [data-field="phase"] [data-field="channel"] input').wait_for()
    page.select_option("#root-select", str(data_root.resolve()))
    page.locator("#file-list li", has_text="browser-form").click()
    page.locator("#file-list li", has_text=movie.name).click()
    page.wait_for_function("document.querySelector('#frame-image')?.naturalWidth > 0")
    form = page.locator("#workflow-form")
    # Methods are lists of what the schema supports; features a checklist of the catalogue.
    for field, value in (("segmentation_method", "logstd"), ("tracking_method", "laptrack")):
        select = form.locator(f'[data-field="{field}"] select')
        assert select.input_value() == value
        assert value in select.locator("option").all_inner_texts()
    phase = form.locator('[data-field="phase"]')
    assert phase.locator('.choices input[value="area"]').is_checked()
    assert phase.locator('.choices input[value="aspect_ratio"]').count() == 1
    # Channels are picked by the file's channel names, the index as the value; a
    # fluorescence channel added afterwards is a list too, and the body holds indices.
    channel = phase.locator('[data-field="channel"] select')
    assert channel.locator("option").all_inner_texts() == ["phase", "gfp"]
    assert channel.input_value() == "0"
    assert phase.locator('[data-field="channel"] input').count() == 0
    form.locator('[data-field="fluorescence"] > button').click()
    fluorescence = form.locator('[data-field="fluorescence"] [data-field="channel"] select')
    fluorescence.select_option(label="gfp")
    started = []
    page.on("request", lambda r: started.append(r) if r.url.endswith("/workflow/start") else None)
    page.click("#start-workflow")
    page.locator("#job-list .job").first.wait_for()  # the service took it
    channels = started[0].post_data_json["channels"]
    assert channels["phase"]["channel"] == 0
    assert channels["fluorescence"][0]["channel"] == 1
    # The icons are the app's own SVGs, not an emoji.
    icon = page.evaluate(
        """() => getComputedStyle(document.querySelector('#file-list li.micro'), '::before')
                 .backgroundImage"""
    )
    assert "icons/movie.svg" in icon
    app.shot("processing-form")
    no_errors(app)


def test_the_fitting_page_offers_the_trace_files_and_the_bad_cell_switch(
    app_page, platform, output
):
    app, page = app_page, app_page.page
    traces = str(output / "fov_000" / "movie_fov_000_traces.csv")
    mark = {"traces_path": traces, "cells": [{"fov": 0, "cell": 0, "good": False}]}
    httpx.post(f"{platform.base_url}/api/processing/cells/quality", json=mark).raise_for_status()
    app.open("fitting")
    page.wait_for_function(
        "(path) => [...document.querySelectorAll('#csv-choices option')]"
        ".some((o) => o.value === path)",
        arg=traces,
    )
    assert page.locator("#model-select").input_value() == "maturation"
    page.fill("#csv-path", traces)
    page.click("#load-traces")
    page.locator("#trace-info table").wait_for()
    without = page.locator("#trace-info").inner_text()
    page.check("#include-bad-cells")
    page.click("#load-traces")
    page.wait_for_function(
        "(before) => document.querySelector('#trace-info').innerText !== before", arg=without
    )
    n_cells = pd.read_csv(traces)["cell"].nunique()
    assert f"Cells\t{n_cells - 1}" in without
    assert f"Cells\t{n_cells}" in page.locator("#trace-info").inner_text()
    mark["cells"][0]["good"] = True
    httpx.post(f"{platform.base_url}/api/processing/cells/quality", json=mark).raise_for_status()
    no_errors(app)


def test_the_fitting_page_offers_each_finished_workflow_jobs_traces(app_page, platform, data_root):
    folder = data_root / "browser-job-traces"
    movie = write_cell_movie(folder / "cells.ome.tif", n_fovs=1, n_frames=3)
    body = {
        "microscopy_path": str(movie),
        "output_dir": str(folder / "out"),
        "channels": {"phase": {"channel": 0, "features": ["area"]}},
        "parameters": {"min_frames": 1, "border_margin": 0},
    }
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge:
        job_id = edge.post("/api/processing/workflow/start", json=body).json()["data"]["job_id"]
        deadline = time.monotonic() + 300
        while (status := edge.get(f"/api/processing/workflow/status/{job_id}").json()["data"])[
            "status"
        ] not in {"completed", "failed"} and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status["status"] == "completed", status
        finished = edge.get("/api/processing/workflow/jobs", params={"status": "completed"})
        assert job_id in [job["job_id"] for job in finished.json()["data"]["jobs"]]
        traces = edge.get(f"/api/processing/workflow/results/{job_id}").json()["data"]["traces"]
        samples = {
            "sample_yaml": str(folder / "out" / "samples.yaml"),
            "samples": [{"name": "control", "fovs": "0"}],
            "input_dir": str(folder / "out"),
            "merge_output_dir": str(folder / "out" / "merged"),
        }
        edge.post("/api/processing/samples", json=samples).raise_for_status()
    merged = str(folder / "out" / "merged" / "control_merged.csv")
    assert Path(merged).is_file()

    app, page = app_page, app_page.page
    app.open("fitting")
    group = page.locator(f'#job-traces .trace-group[data-job-id="{job_id}"]')
    group.wait_for()
    listed = group.locator("li").evaluate_all("(items) => items.map((li) => li.dataset.path)")
    assert listed == [*traces, merged]  # the job's traces, then its merged samples
    # Picking one fills the path and loads it.
    group.locator(f'li[data-path="{merged}"]').click()
    page.locator("#trace-info table").wait_for()
    assert page.locator("#csv-path").input_value() == merged
    n_cells = pd.read_csv(merged)["cell"].nunique()
    assert f"Cells\t{n_cells}" in page.locator("#trace-info").inner_text()
    app.shot("fitting-job-traces")
    no_errors(app)
