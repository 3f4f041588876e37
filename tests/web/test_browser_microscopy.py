"""The microscopy workbench and fitting in a real browser: browse the data roots,
open a real ND2 and scrub its frames; run a workflow from the generated form on a
small synthetic movie and read its results; fit traces and see the plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from tests.conftest import SHARED_DATA

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ND2 = SHARED_DATA / "nd2" / "arcadia-example-timelapse.nd2"


def frame_source(page) -> str:
    page.wait_for_function("document.querySelector('#frame-image')?.naturalWidth > 0")
    return page.locator("#frame-image").get_attribute("src")


def test_browse_the_data_roots_and_scrub_a_real_movie(app_page):
    if not ND2.is_file():
        pytest.skip(f"real movies not found in {ND2.parent}")
    app, page = app_page, app_page.page
    app.open("microscopy")
    page.select_option("#root-select", str(SHARED_DATA.resolve()))
    page.locator("#file-list li", has_text="nd2").first.click()
    page.locator("#file-list li", has_text=ND2.name).click()
    info = page.locator("#file-info")
    info.get_by_text("53", exact=True).wait_for()
    first = frame_source(page)
    page.locator("#frame-t").fill("20")
    page.wait_for_function(
        f"document.querySelector('#frame-image').src !== {first!r}"
        " && document.querySelector('#frame-image').naturalWidth > 0"
    )
    assert page.locator("#frame-viewer output").nth(1).inner_text() == "20"
    app.shot("microscopy-frames")

    page.fill("#file-search", "*.nd2")
    page.press("#file-search", "Enter")
    page.locator("#file-list li", has_text="cluster.nd2").wait_for()
    assert app.page_errors == []


def write_movie(path: Path, n_frames: int = 6, size: int = 288) -> Path:
    """One FOV, phase (textured discs, what logstd segments) and a fluorescent channel."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:size, :size]
    planes = []
    for t in range(n_frames):
        phase = rng.normal(1000, 8, (size, size))
        glow = 150.0 + rng.normal(0, 4, (size, size))
        for y, x, radius in ((60, 50, 14), (150, 120, 12), (220, 200, 13)):
            inside = (yy - y) ** 2 + (xx - x - t) ** 2 <= radius**2
            phase[inside] = rng.normal(1000, 150, int(inside.sum()))
            glow[inside] += 400
        planes += [phase, glow]
    stack = np.clip(np.rint(planes), 0, 65535).astype(np.uint16).reshape(n_frames, 2, size, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, stack, ome=True, metadata={"axes": "TCYX"})
    return path


def test_run_a_workflow_from_the_form(app_page, platform, data_root):
    movie = write_movie(data_root / "web-workflow" / "cells.ome.tif")
    app, page = app_page, app_page.page
    app.open("microscopy")
    page.select_option("#root-select", str(data_root.resolve()))
    page.locator("#file-list li", has_text="web-workflow").click()
    page.locator("#file-list li", has_text=movie.name).click()
    page.wait_for_function("document.querySelector('#frame-image')?.naturalWidth > 0")
    form = page.locator("#workflow-form")
    assert form.locator('[data-field="microscopy_path"] input').input_value() == str(movie)
    form.locator('[data-field="min_frames"] input').fill("2")
    form.locator('[data-field="border_margin"] input').fill("0")
    page.click("#start-workflow")
    job = page.locator("#job-list .job").first
    job.wait_for()
    page.locator('#job-list .job[data-status="completed"]').wait_for(timeout=240_000)
    results = page.locator("#workflow-results")
    results.get_by_role("rowheader", name="Cells").wait_for()
    assert "cells_fov_000_traces.csv" in results.inner_text()
    header = page.get_by_role("rowheader", name="Cells", exact=True)
    cells = results.locator("tr", has=header).locator("td").inner_text()
    assert cells == "3", "the movie has three cells"
    app.shot("microscopy-workflow")

    # The finished job's outlines over the frame, on demand.
    job_id = job.get_attribute("data-job-id")
    before = frame_source(page)
    page.select_option("#overlay-job", job_id)
    page.wait_for_function(f"document.querySelector('#frame-image').src !== {before!r}")
    assert app.page_errors == []


def write_traces(path: Path, n_cells: int = 12) -> Path:
    """Saturating traces a(1 - exp(-r t)) + c with a little noise, one FOV."""
    rng = np.random.default_rng(3)
    time = np.arange(0, 60, 2.0)
    rows = ["fov,cell,time,value"]
    for cell in range(n_cells):
        amplitude, rate, offset = 1 + cell * 0.1, 0.05 + cell * 0.01, 0.2
        values = amplitude * (1 - np.exp(-rate * time)) + offset + rng.normal(0, 0.01, time.size)
        rows += [f"0,{cell},{t:g},{v:.6f}" for t, v in zip(time, values, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def test_fit_traces_and_see_the_plots(app_page, platform, data_root):
    csv = write_traces(data_root / "web-fitting" / "traces.csv")
    app, page = app_page, app_page.page
    app.open(f"fitting?csv={csv}")
    page.locator("#trace-info").get_by_text("12", exact=True).wait_for()
    options = page.locator("#model-select option").all_inner_texts()
    if "maturation" in options:
        page.select_option("#model-select", "maturation")
    page.click("#start-fitting")
    page.locator('#fitting-jobs .job[data-status="completed"]').wait_for(timeout=120_000)
    page.wait_for_function("document.querySelector('#fit-plot')?.naturalWidth > 0")
    page.wait_for_function("document.querySelector('#histogram')?.naturalWidth > 0")
    assert "12" in page.locator("#fitting-results").inner_text()
    app.shot("fitting-results")
    assert app.page_errors == []
