"""The Slidekick reference front end's calls, replayed exactly as
`../shared/spec/reference-clients.md` records them, against the real platform.

`ReferenceFrontEnd` does what that React + OpenSeadragon app does and nothing
more: relative calls under `/api` through its Vite dev proxy (which forwards the
browser's `Origin: http://localhost:5173`), the bodies it sends (level-0
rectangles, `level` a zoom hint it computes from the screen), the fields it reads
(`mpp` as a number), and SSE read line by line from `data: `, dispatched on
`data.type`. A step the app would choke on (a null it calls `.toFixed` on, an
event it cannot dispatch, a stream that ends without `complete` or `error`)
fails the test.

Slides: a one-level slide without MPP (painted nuclei the oracle network finds),
a three-level Aperio slide seen zoomed out; the analyses run on the real
inference service with the oracle network. The failing stream (the slide deleted
mid-analysis) needs an analysis slow enough to interrupt: the stand-in
inference of tests/spatial behind its own edge, everything else real.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from edge.settings import EdgeSettings
from testing.oracle import TYPE_COLOURS
from tests.harness import free_port
from tests.inference.synthetic import SMALL_SLIDE_NUCLEI, write_aperio, write_small_slide
from tests.spatial.test_api import Spatial, spatial  # noqa: F401  (fixture)

DEV_SERVER = "http://localhost:5173"  # Vite, proxying /api to the edge
PROGRESS_FIELDS = {"type", "current", "total", "percentage", "message"}


class FrontEndError(AssertionError):
    """Where the reference front end would throw, or wait forever."""


def zoom_level(image_px_per_screen_px: float) -> int:
    """What the front end sends as `level`: max(0, round(log2(downsample)))."""
    return max(0, round(math.log2(image_px_per_screen_px)))


@dataclass
class Analysis:
    progress: list[dict[str, Any]] = field(default_factory=list)
    complete: dict[str, Any] | None = None
    error: str | None = None


class ReferenceFrontEnd:
    """The reference front end's API calls (axios `baseURL: "/api"`, `fetch` for SSE)."""

    def __init__(self, edge_url: str) -> None:
        # The dev proxy: `changeOrigin` rewrites Host to the edge's, Origin passes as is.
        self.http = httpx.Client(
            base_url=f"{edge_url}/api", headers={"Origin": DEV_SERVER}, timeout=120
        )

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        if response.is_error:
            # axios rejects; the app shows `detail` in an alert.
            raise FrontEndError(f"{response.status_code}: {response.json().get('detail')}")
        return response.json()

    # Slides ---------------------------------------------------------------------------

    def upload(self, path: Path) -> dict[str, Any]:
        with path.open("rb") as file:
            response = self.http.post("/slides/upload", files={"file": (path.name, file)})
        return self._slide(self._json(response))

    def _slide(self, slide: dict[str, Any]) -> dict[str, Any]:
        mpp = slide["mpp"]
        if not isinstance(mpp, int | float) or isinstance(mpp, bool):
            raise FrontEndError(f"mpp.toFixed(4) throws on {mpp!r}")
        slide["shown"] = {
            "mpp": f"{mpp:.4f}",
            "width_mm": slide["width_px"] * mpp * 0.001,
            "height_mm": slide["height_px"] * mpp * 0.001,
        }
        return slide

    def slides(self) -> list[dict[str, Any]]:
        listed = self._json(self.http.get("/slides/"))
        keys = ("id", "filename", "mpp", "width_px", "height_px")
        return [self._slide({key: slide[key] for key in keys}) for slide in listed]

    def slide(self, slide_id: str) -> dict[str, Any]:
        return self._slide(self._json(self.http.get(f"/slides/{slide_id}")))

    def thumbnail(self, slide_id: str) -> bytes:
        response = self.http.get(f"/slides/{slide_id}/thumbnail", params={"max_size": 100})
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        return response.content

    def delete_slide(self, slide_id: str) -> None:
        # Not the front end's (it has no UI for it): the user's other tab, a script.
        assert self.http.delete(f"/slides/{slide_id}").status_code == 204

    # The viewer -----------------------------------------------------------------------

    def nuclei_in_view(
        self, slide_id: str, rect: tuple[float, float, float, float], downsample: float
    ) -> list[dict[str, Any]]:
        """On every pan and zoom: the visible rectangle in level-0 pixels."""
        x, y, width, height = rect
        body = {"slide_id": slide_id, "x": x, "y": y, "width": width, "height": height}
        body["level"] = zoom_level(downsample)
        answer = self._json(self.http.post("/roi/nuclei", json=body))
        keys = ("x", "y", "cell_type", "cell_type_name", "probability")
        return [{key: nucleus[key] for key in keys} for nucleus in answer["nuclei"]]

    def analyse(
        self,
        slide_id: str,
        rect: tuple[float, float, float, float],
        downsample: float,
        on_progress=None,
    ) -> Analysis:
        """ "Analyse view": fetch with Accept: text/event-stream, each `data: ` line
        parsed as JSON and dispatched on `data.type`."""
        x, y, width, height = rect
        body = {"slide_id": slide_id, "x": x, "y": y, "width": width, "height": height}
        body["level"] = zoom_level(downsample)
        result = Analysis()
        headers = {"Accept": "text/event-stream"}
        with self.http.stream(
            "POST", "/inference/viewport-stream", json=body, headers=headers
        ) as response:
            if response.is_error:
                raise FrontEndError(f"{response.status_code}: {response.read().decode()}")
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = json.loads(line.removeprefix("data: "))
                kind = data.get("type")
                if kind == "progress":
                    result.progress.append({key: data[key] for key in PROGRESS_FIELDS})
                    if on_progress is not None:
                        on_progress(data)
                elif kind == "complete":
                    result.complete = {key: data[key] for key in ("box", "nuclei", "count")}
                elif kind == "error":
                    result.error = data["message"]  # shown to the user
                else:
                    raise FrontEndError(f"the UI cannot dispatch {data!r} and waits forever")
        if result.complete is None and result.error is None:
            raise FrontEndError("the stream ended without complete or error: the UI waits forever")
        return result

    def boxes(self, slide_id: str) -> list[dict[str, Any]]:
        return self._json(self.http.get(f"/boxes/{slide_id}"))["boxes"]

    def box_detail(self, box_id: str) -> dict[str, Any]:
        detail = self._json(self.http.get(f"/boxes/detail/{box_id}"))
        for key in ("total_nuclei", "density_per_mm2", "area_mm2", "neoplastic_ratio"):
            assert isinstance(detail[key], int | float), key
        return detail

    def delete_box(self, box_id: str) -> None:
        response = self.http.delete(f"/boxes/{box_id}")
        if response.status_code != 204:
            raise FrontEndError(f"delete answered {response.status_code}: {response.text}")


@pytest.fixture
def front_end(platform) -> Iterator[ReferenceFrontEnd]:
    client = ReferenceFrontEnd(platform.base_url)
    yield client
    client.close()


def write_one_level_slide_without_mpp(path: Path) -> Path:
    """600 x 300 px, one level, no MPP (a generic tiled TIFF): the painted nuclei
    of `write_small_slide` on tissue."""
    image = np.empty((300, 600, 3), np.uint8)
    image[:] = (242, 240, 244)
    image[24:232, 24:232] = (200, 120, 180)
    for nucleus in SMALL_SLIDE_NUCLEI:
        image[nucleus.mask(image.shape[:2])] = TYPE_COLOURS[nucleus.cell_type]
    return write_aperio(path, image, None, levels=1)


def _check_progress(analysis: Analysis) -> None:
    """Progress as the Slidekick spec shows it: integer percentages, one event per change."""
    assert analysis.progress, "no progress was shown"
    for event in analysis.progress:
        assert isinstance(event["percentage"], int), event
        assert 0 <= event["percentage"] <= 100
    changes = [(e["current"], e["total"], e["message"]) for e in analysis.progress]
    assert len(changes) == len(set(changes)), f"progress repeated without a change: {changes}"


def test_a_one_level_slide_without_mpp_seen_whole(front_end, oracle_network, tmp_path):
    """The pathologist opens a one-level slide whose file has no MPP, sees it whole
    (about 4.7 image pixels per screen pixel: level hint 2), analyses a box and
    pans over it zoomed out."""
    slide = front_end.upload(write_one_level_slide_without_mpp(tmp_path / "plain.tif"))
    slide_id = slide["id"]
    try:
        assert slide["mpp"] > 0 and slide["mpp_assumed"] is True
        assert slide["id"] in {s["id"] for s in front_end.slides()}
        assert front_end.slide(slide_id)["shown"]["mpp"] == f"{slide['mpp']:.4f}"
        front_end.thumbnail(slide_id)
        # The scale bar works on the assumed MPP (the front end does not draw it; ours does).
        bar = front_end.http.get(f"/slides/{slide_id}/scale-bar", params={"target_um": 50})
        assert bar.status_code == 200, bar.text
        assert bar.json()["pixels_at_level"] == pytest.approx(50 / slide["mpp"])

        whole = (0, 0, 600, 300)
        assert front_end.nuclei_in_view(slide_id, whole, downsample=4.7) == []
        analysis = front_end.analyse(slide_id, (0, 0, 256, 256), downsample=4.7)
        assert analysis.error is None, analysis.error
        _check_progress(analysis)
        complete = analysis.complete
        assert complete["count"] == len(SMALL_SLIDE_NUCLEI) == len(complete["nuclei"])
        storing = [e["message"] for e in analysis.progress if e["message"].startswith("Storing")]
        assert storing == [f"Storing {complete['count']} nuclei"]

        for downsample in (1, 2.2, 4.7, 11):  # levels 0, 1, 2, 3 (the slide has only 0)
            seen = front_end.nuclei_in_view(slide_id, whole, downsample)
            assert len(seen) == len(SMALL_SLIDE_NUCLEI), downsample
        box = front_end.boxes(slide_id)[0]
        detail = front_end.box_detail(box["id"])
        assert detail["total_nuclei"] == len(SMALL_SLIDE_NUCLEI)
        assert detail["area_mm2"] == pytest.approx(256 * 256 * slide["mpp"] ** 2 * 1e-6)
        front_end.delete_box(box["id"])
        assert front_end.boxes(slide_id) == []
    finally:
        front_end.delete_slide(slide_id)


def test_zoomed_out_on_a_pyramid_the_nuclei_stay(front_end, oracle_network, tmp_path):
    """Level-0 coordinates whatever the zoom: the box with the nuclei is found at
    every level hint (before, level 1 scaled the rectangle and found none)."""
    slide = front_end.upload(write_small_slide(tmp_path / "pyramid.svs"))
    slide_id = slide["id"]
    try:
        assert slide["mpp"] == pytest.approx(0.25) and slide["mpp_assumed"] is False
        analysis = front_end.analyse(slide_id, (0, 0, 256, 256), downsample=1)
        assert analysis.error is None, analysis.error
        _check_progress(analysis)
        assert analysis.complete["count"] == len(SMALL_SLIDE_NUCLEI)
        # A view of the upper-left 300 x 150 px holds the six nuclei of rows y = 60, 140.
        view = (0, 0, 300, 150)
        expected = sorted((n.x, n.y) for n in SMALL_SLIDE_NUCLEI if n.y < 150)
        for downsample in (1, 2, 4, 8, 16):  # levels 0..4; the pyramid has 0..2
            seen = front_end.nuclei_in_view(slide_id, view, downsample)
            assert sorted((round(n["x"]), round(n["y"])) for n in seen) == expected, downsample
        # A zoomed-out analysis (level hint 3) of level-0 coordinates works as well.
        second = front_end.analyse(slide_id, (0, 0, 300, 150), downsample=8)
        assert second.error is None, second.error
        assert second.complete["box"]["x_max"] == 300 and second.complete["box"]["y_max"] == 150
        assert second.complete["count"] == len(expected)
    finally:
        front_end.delete_slide(slide_id)


def test_a_negative_level_is_still_refused(front_end, tmp_path):
    slide_id = front_end.upload(write_small_slide(tmp_path / "s.svs"))["id"]
    try:
        body = {"slide_id": slide_id, "x": 0, "y": 0, "width": 10, "height": 10, "level": -1}
        for path in ("/roi/nuclei", "/inference/viewport-stream"):
            refused = front_end.http.post(path, json=body)
            assert refused.status_code == 400, refused.text
            assert "level" in refused.text
    finally:
        front_end.delete_slide(slide_id)


def test_a_stream_that_fails_ends_with_an_error_the_ui_shows(spatial: Spatial):  # noqa: F811
    """The slide is deleted while its analysis runs: the last event is an error
    the front end dispatches (`type`, a human `message`), and nothing is stored."""
    front_end = ReferenceFrontEnd(spatial.base_url)
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s = 4, 0.5
    deleted = threading.Event()

    def delete_once(event: dict[str, Any]) -> None:
        if event["current"] >= 1 and not deleted.is_set():
            deleted.set()
            front_end.delete_slide(slide_id)

    try:
        analysis = front_end.analyse(slide_id, (0, 0, 400, 300), 1, on_progress=delete_once)
    finally:
        front_end.close()
    assert deleted.is_set()
    assert analysis.complete is None
    assert analysis.error and "deleted" in analysis.error, analysis.error
    assert spatial.box_count(slide_id) == 0


def test_a_failed_stream_says_why_in_the_clients_terms(spatial: Spatial):  # noqa: F811
    front_end = ReferenceFrontEnd(spatial.base_url)
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s, spatial.script.fail = 2, 0.1, True
    try:
        with front_end.http.stream(
            "POST",
            "/inference/viewport-stream",
            json={"slide_id": slide_id, "x": 0, "y": 0, "width": 300, "height": 300, "level": 0},
            headers={"Accept": "text/event-stream"},
        ) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    finally:
        spatial.script.fail = False
        front_end.close()
    last = json.loads(lines[-1].removeprefix("data: "))
    assert last["type"] == "error"
    assert "out of memory" in last["message"]
    assert last["error_code"] == "PROCESSING_ERROR"


def test_progress_is_sent_when_something_changes(spatial: Spatial):  # noqa: F811
    """Four slow batches: one event per phase and batch, not one every 250 ms."""
    front_end = ReferenceFrontEnd(spatial.base_url)
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s = 4, 0.6
    try:
        analysis = front_end.analyse(slide_id, (0, 0, 400, 300), 1)
    finally:
        front_end.close()
    _check_progress(analysis)
    messages = [event["message"] for event in analysis.progress]
    assert messages == [
        "Reading region",
        *(f"Processing batch {step}/4" for step in range(1, 5)),
        f"Storing {analysis.complete['count']} nuclei",
    ]
    assert [event["percentage"] for event in analysis.progress[1:5]] == [25, 50, 75, 100]


# The dev proxy and CORS -------------------------------------------------------------


LOOPBACK_ORIGINS = [
    "http://localhost:5173",
    "http://127.0.0.1:3000",
    "http://[::1]:8080",
    "https://localhost",
]


@pytest.mark.parametrize("origin", LOOPBACK_ORIGINS)
def test_loopback_origins_may_change_state_and_get_cors(edge, origin):
    search = {"search_path": "."}
    answer = edge.post("/api/processing/search-files", json=search, headers={"Origin": origin})
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == origin
    preflight = edge.options(
        "/api/roi/nuclei",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "POST" in preflight.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example:5173", "http://10.1.2.3:5173"]
)
def test_foreign_origins_are_still_refused(edge, origin):
    answer = edge.post(
        "/api/processing/search-files", json={"search_path": "."}, headers={"Origin": origin}
    )
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers
    preflight = edge.options(
        "/api/roi/nuclei", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_an_edge_opened_beyond_localhost_takes_only_its_listed_origins(platform):
    settings = EdgeSettings(
        port=free_port(), localhost_only=False, cors_origins=["https://lab.example"]
    )
    search = {"search_path": "."}
    with (
        platform.extra_edge(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as client,
    ):
        for origin in ("http://localhost:5173", "https://evil.example"):
            refused = client.post(
                "/api/processing/search-files", json=search, headers={"Origin": origin}
            )
            assert refused.status_code == 403, origin
            assert "access-control-allow-origin" not in refused.headers
        listed = client.post(
            "/api/processing/search-files", json=search, headers={"Origin": "https://lab.example"}
        )
        assert listed.status_code == 200
        assert listed.headers["access-control-allow-origin"] == "https://lab.example"
