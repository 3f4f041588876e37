"""Live viewport analysis in the browser: draw a box on a real slide, watch the
progress, see the box listed with its statistics and its nuclei drawn; ROI
statistics of a drawn rectangle. The platform's HoVerNet has random weights, so
the test checks that what the page shows is what the API stored, not biology."""

from __future__ import annotations

import httpx
import pytest

from tests.inference.synthetic import SMALL_SLIDE_NUCLEI, write_small_slide
from tests.web.conftest import TILES_SHOWN
from tests.web.test_browser_slides import SLIDE, upload

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def test_draw_a_box_and_watch_its_nuclei_appear(app_page, platform):
    if not SLIDE.is_file():
        pytest.skip(f"real slides not found in {SLIDE.parent}")
    app, page = app_page, app_page.page
    slide_id = upload(app, SLIDE)
    app.open(f"viewer/{slide_id}")
    page.wait_for_function(TILES_SHOWN)
    page.wait_for_load_state("networkidle")
    # Zoom so that a 120-screen-pixel box is a few hundred slide pixels.
    page.evaluate(
        """() => { const v = window.micrographiaViewer.viewer;
                   v.viewport.zoomTo(v.viewport.imageToViewportZoom(1), null, true); }"""
    )
    page.wait_for_load_state("networkidle")

    box = page.locator("#osd").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.click('button[data-mode="analyse"]')
    drag(page, (cx - 60, cy - 60), (cx + 60, cy + 60))
    page.locator("#analysis progress").wait_for()
    page.locator("#analysis .notice.success").wait_for(timeout=240_000)
    app.shot("viewer-analysis")

    boxes = httpx.get(f"{platform.base_url}/api/boxes/{slide_id}").json()["boxes"]
    assert len(boxes) == 1
    stored = boxes[0]
    assert 100 <= stored["x_max"] - stored["x_min"] <= 140
    listed = page.locator(f'#box-list li[data-box-id="{stored["id"]}"]')
    assert f"{stored['total_nuclei']:,} nuclei" in listed.inner_text()
    assert page.locator("#box-detail").is_visible()
    assert stored["label"] in page.locator("#box-detail h2").inner_text()
    legend_total = sum(
        int(text.replace(",", "")) for text in page.locator(".legend .count").all_inner_texts()
    )
    assert legend_total >= stored["total_nuclei"], "the box's nuclei are drawn"

    # ROI statistics of a rectangle over the same place count the same nuclei.
    page.click('button[data-mode="roi"]')
    drag(page, (cx - 80, cy - 80), (cx + 80, cy + 80))
    page.locator("#roi-stats table.facts").wait_for()
    app.shot("viewer-roi")
    assert page.locator("#roi-stats").is_visible()

    # Deleting the box asks, then removes it from the list.
    listed.get_by_role("button", name="Delete").click()
    page.locator("dialog.confirm").get_by_role("button", name="Delete").click()
    listed.wait_for(state="detached")
    assert httpx.get(f"{platform.base_url}/api/boxes/{slide_id}").json()["boxes"] == []
    assert app.page_errors == []


def test_cancel_stops_an_analysis_and_stores_nothing(app_page, platform):
    if not SLIDE.is_file():
        pytest.skip(f"real slides not found in {SLIDE.parent}")
    app, page = app_page, app_page.page
    slide_id = upload(app, SLIDE)
    app.open(f"viewer/{slide_id}")
    page.wait_for_function(TILES_SHOWN)
    box = page.locator("#osd").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.click('button[data-mode="analyse"]')
    # The whole slide fits the view: this box is thousands of slide pixels wide.
    drag(page, (cx - 250, cy - 250), (cx + 250, cy + 250))
    page.locator("#cancel-analysis").click()
    page.locator("#analysis .notice.info", has_text="cancelled").wait_for()
    assert page.locator("#cancel-analysis").is_hidden()
    assert httpx.get(f"{platform.base_url}/api/boxes/{slide_id}").json()["boxes"] == []
    assert app.page_errors == []


def test_analyse_the_whole_slide_and_follow_its_job(app_page, platform, tmp_path, oracle_network):
    """The oracle network, so the job is quick and its nuclei known: eight painted
    nuclei in the slide's one tissue region (the real network's path is
    tests/edge/test_slide_analysis.py's first test)."""
    app, page = app_page, app_page.page
    slide_file = write_small_slide(tmp_path / "painted-whole-slide.svs")
    slide_id = upload(app, slide_file)
    app.open(f"viewer/{slide_id}")
    page.wait_for_function(TILES_SHOWN)

    page.click("#analyse-slide")
    assert page.locator("#analyse-slide").is_disabled()  # one analysis at a time
    card = page.locator("#slide-analyses .job")
    card.wait_for()
    page.locator('#slide-analyses .job[data-status="completed"]').wait_for(timeout=120_000)
    app.shot("viewer-whole-slide")

    analyses = httpx.get(
        f"{platform.base_url}/api/slide-analysis/jobs", params={"slide_id": slide_id}
    ).json()["analyses"]
    assert [a["status"] for a in analyses] == ["completed"]
    box_id = analyses[0]["box_id"]
    assert card.get_attribute("data-job-id") == analyses[0]["job_id"]
    listed = page.locator(f'#box-list li[data-box-id="{box_id}"]')
    listed.wait_for()
    assert f"{len(SMALL_SLIDE_NUCLEI)} nuclei" in listed.inner_text()
    assert not page.locator("#analyse-slide").is_disabled()
    assert app.page_errors == []
