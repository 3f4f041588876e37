"""Browser fixtures: Debian's Chromium driven by Playwright (no browser download),
a page at 1280x800 on the real platform's edge, and screenshots kept as artifacts
under $MICROGRAPHIA_SCREENSHOTS (default: a pytest temporary folder)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MICROGRAPHIA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


# Per module: Playwright's sync API marks an event loop as running in this thread
# while it is open, which would break asyncio.run() in the tests that follow.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (make setup installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("MICROGRAPHIA_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class AppPage:
    """A browser tab on the app, recording failed responses and page errors."""

    def __init__(self, page, base_url: str, screenshots: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.screenshots = screenshots
        self.failed_responses: list[tuple[int, str]] = []
        self.page_errors: list[str] = []
        page.on("response", self._on_response)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.set_default_timeout(30_000)

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed_responses.append((response.status, response.url))

    def open(self, route: str) -> None:
        self.page.goto(f"{self.base_url}/#/{route}")

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def app_page(browser, platform, screenshots, request) -> Iterator[AppPage]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        app = AppPage(context.new_page(), platform.base_url, screenshots)
        yield app
        # How the page looked at the end, passed or failed.
        app.shot(f"end-{request.node.name}")
    finally:
        context.close()


TILES_SHOWN = "window.micrographiaViewer && window.micrographiaViewer.tiles.loaded > 0"
