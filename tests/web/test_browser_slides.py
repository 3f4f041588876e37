"""The slides page and the viewer in a real browser, on the real platform: each
page opens without script errors, a real slide uploads with progress, the viewer
pans and zooms with every tile loading, the scale bar follows the zoom, and
deleting asks first and says the analyses go too."""

from __future__ import annotations

import pytest

from edge.settings import EdgeSettings
from services.slides.core.formats import ACCEPTED_UPLOAD_EXTENSIONS
from tests.conftest import SHARED_DATA
from tests.harness import free_port
from tests.web.conftest import TILES_SHOWN, VIEWPORT, AppPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LARGE_MONITOR = {"width": 2560, "height": 1440}
SLIDE = SHARED_DATA / "wsi" / "stritt-test3-DAPI-2-387.ndpi"


def tile_responses(app) -> list[tuple[int, str]]:
    return [(status, url) for status, url in app.failed_responses if "/dzi_files/" in url]


def upload(app, path) -> str:
    app.open("slides")
    app.page.set_input_files("#slide-file", str(path))
    app.page.click("#upload-button")
    card = app.page.locator(".slide-card", has_text=path.name).first
    card.wait_for()
    app.page.locator(".notice.success").wait_for()
    return card.get_attribute("data-slide-id")


def delete_from_list(app, slide_id: str) -> None:
    app.open("slides")
    card = app.page.locator(f'.slide-card[data-slide-id="{slide_id}"]')
    card.get_by_role("button", name="Delete").click()
    dialog = app.page.locator("dialog.confirm")
    assert "analyses" in dialog.inner_text()
    dialog.get_by_role("button", name="Delete").click()
    card.wait_for(state="detached")


@pytest.fixture
def slide_file():
    if not SLIDE.is_file():
        pytest.skip(f"real slides not found in {SLIDE.parent}")
    return SLIDE


@pytest.mark.parametrize(
    "route, heading", [("slides", "Slides"), ("microscopy", "Microscopy"), ("fitting", "Fitting")]
)
def test_each_page_opens(app_page, route, heading):
    app_page.open(route)
    app_page.page.get_by_role("heading", name=heading, exact=True).wait_for()
    app_page.page.wait_for_load_state("networkidle")
    app_page.shot(f"page-{route}")
    app_page.page.set_viewport_size(LARGE_MONITOR)
    app_page.shot(f"page-{route}-large")
    assert app_page.page_errors == []
    assert app_page.page.locator("#health").inner_text() in {"healthy", "degraded"}


def test_the_file_input_offers_exactly_the_services_formats(app_page):
    # The service's own list (what UploadSlide accepts), not a copy in the web app:
    # .zip is offered, .mrxs and .vms (refused unzipped) are not.
    app_page.open("slides")
    hint = app_page.page.locator("#slide-formats")
    hint.get_by_text(".zip").wait_for()
    accept = app_page.page.locator("#slide-file").get_attribute("accept")
    assert accept.split(",") == list(ACCEPTED_UPLOAD_EXTENSIONS)
    shown = hint.inner_text().removeprefix("Formats: ").split(" (")[0].split(" ")
    assert shown == list(ACCEPTED_UPLOAD_EXTENSIONS)
    assert ".mrxs" in hint.inner_text() and "companion files" in hint.inner_text()
    assert app_page.page_errors == []


def test_upload_pan_zoom_and_delete_a_real_slide(app_page, slide_file):
    app = app_page
    page = app.page
    slide_id = upload(app, slide_file)
    card = page.locator(f'.slide-card[data-slide-id="{slide_id}"]')
    assert "3,968 \u00d7 4,864 px" in card.inner_text()  # width x height
    assert "hamamatsu" in card.inner_text()
    page.wait_for_function(
        f"document.querySelector('.slide-card[data-slide-id=\"{slide_id}\"] img').naturalWidth > 0"
    )
    app.shot("slides-list")

    card.get_by_role("link", name="Open").click()
    page.wait_for_function(TILES_SHOWN)
    page.wait_for_load_state("networkidle")
    scale_before = float(page.locator(".scale-bar").get_attribute("data-um"))
    loaded_before = page.evaluate("window.micrographiaViewer.tiles.loaded")

    # Zoom in on the middle with the wheel, then drag to pan.
    box = page.locator("#osd").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    for _ in range(6):
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
    page.mouse.down()
    page.mouse.move(cx - 200, cy - 120, steps=10)
    page.mouse.up()
    page.wait_for_function(
        f"window.micrographiaViewer.tiles.loaded > {loaded_before}", timeout=30_000
    )
    page.wait_for_function("!window.micrographiaViewer.viewer.world.needsDraw()")
    page.wait_for_load_state("networkidle")
    scale_after = float(page.locator(".scale-bar").get_attribute("data-um"))
    assert scale_after < scale_before, "the scale bar follows the zoom"
    assert page.evaluate("window.micrographiaViewer.tiles.failed") == 0
    assert tile_responses(app) == []
    assert page.locator(".navigator").count() == 1
    page.locator("details.panel summary").click()
    assert "hamamatsu" in page.locator("table.props").inner_text()
    app.shot("viewer-zoomed")
    assert app.page_errors == []

    delete_from_list(app, slide_id)
    assert app.page.locator(f'.slide-card[data-slide-id="{slide_id}"]').count() == 0


def test_with_api_keys_the_app_asks_for_one_and_sends_it(browser, platform, screenshots):
    settings = EdgeSettings(port=free_port())
    with platform.extra_edge(settings, api_keys=["browser-key"]) as base_url:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            app = AppPage(context.new_page(), base_url, screenshots)
            app.open("slides")
            dialog = app.page.locator("#key-dialog")
            dialog.wait_for()
            assert "UNAUTHORIZED" in dialog.inner_text()
            app.shot("api-key-dialog")
            app.page.fill("#key-input", "browser-key")
            app.page.click("#key-dialog button.primary")
            app.page.locator("#slide-list .slide-card, #slide-list .empty").first.wait_for()
            stored = app.page.evaluate("sessionStorage.getItem('micrographia.apiKey')")
            assert stored == "browser-key"
            assert app.page.locator("[role=alert]").count() == 0
        finally:
            context.close()
