"""/api/inference/viewport-stream, /api/roi and /api/boxes end to end: HTTP -> the
real edge -> the real spatial service -> PostGIS, with the real slides service
and, for the stream's own behaviour, a stand-in inference service
(stand_in_inference.py; the real one: test_viewport_real.py)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp import Client

from common.server import ServiceRunner
from edge.settings import EdgeSettings
from services.inference.settings import InferenceSettings
from services.spatial.core import SpatialStore
from services.spatial.service import SpatialService
from services.spatial.settings import SpatialSettings
from tests.harness import RunningPlatform, free_port
from tests.slides.conftest import upload_bytes, write_aperio_svs

from .stand_in_inference import Script, StandInInference, grid_nuclei
from .test_store import assert_qupath_collection

SLIDE_SIZE = (2000, 1500)
MPP = 0.25
BOX_FIELDS = {
    "id",
    "slide_id",
    "label",
    "x_min",
    "y_min",
    "x_max",
    "y_max",
    "total_nuclei",
    "area_mm2",
    "density_per_mm2",
    "neoplastic_ratio",
    "cell_type_counts",
    "created_at",
}
NUCLEUS_FIELDS = {"id", "x", "y", "cell_type", "cell_type_name", "probability"}
TYPE_NAMES = [
    "Background",
    "Neoplastic",
    "Inflammatory",
    "Connective",
    "Dead",
    "Non-Neoplastic Epithelial",
]


def read_sse(response: httpx.Response, stop_after: int | None = None) -> list[tuple[str, dict]]:
    """Events as a browser's EventSource sees them: `event:`/`data:` fields up to a
    blank line, comment lines (":") skipped, several data lines joined by newlines."""
    events: list[tuple[str, dict]] = []
    name, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                events.append((name, json.loads("\n".join(data))))
                if stop_after is not None and len(events) >= stop_after:
                    break
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    return events


@dataclass
class Spatial:
    api: httpx.Client
    base_url: str
    script: Script
    store: SpatialStore
    platform: RunningPlatform

    def slide(self, name: str = "slide.svs") -> str:
        response = upload_bytes(self.api, self.svs.read_bytes(), name)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def box_count(self, slide_id: str) -> int:
        return len(self.platform.loop.run(self.store.list_boxes(slide_id)))

    svs: Path = Path()


@pytest.fixture(scope="module")
def spatial(platform: RunningPlatform, tmp_path_factory) -> Iterator[Spatial]:
    """A spatial service whose inference peer is the stand-in, behind its own edge
    (same database and slides service as the platform)."""
    script = Script()

    class Inference(StandInInference):
        pass

    Inference.script = script
    settings = InferenceSettings(host="127.0.0.1", port=0, grace_period_s=1)
    inference = ServiceRunner(Inference, settings, platform.platform)
    platform.loop.run(inference.start())
    peers = platform.platform.model_copy(update={"inference_address": inference.address})
    runner = ServiceRunner(
        SpatialService, SpatialSettings(host="127.0.0.1", port=0, grace_period_s=1), peers
    )
    platform.loop.run(runner.start())
    platform.loop.run(runner.wait_ready())
    svs = write_aperio_svs(tmp_path_factory.mktemp("spatial") / "slide.svs", *SLIDE_SIZE, MPP)
    try:
        with (
            platform.extra_edge(
                EdgeSettings(port=free_port()), spatial_address=runner.address
            ) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as api,
        ):
            yield Spatial(api, base_url, script, SpatialStore(runner.service.pool), platform, svs)
    finally:
        platform.loop.run(runner.stop(grace=1))
        platform.loop.run(inference.stop(grace=1))


def analyse(spatial: Spatial, body: dict) -> list[tuple[str, dict]]:
    with spatial.api.stream("POST", "/api/inference/viewport-stream", json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_sse(response)


def test_viewport_stream_progress_then_the_stored_box(spatial: Spatial):
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s = 3, 0.8
    # Sticks out of the slide on the left and the top: clamped to 0..600 x 0..400.
    body = {"slide_id": slide_id, "x": -200, "y": -100, "width": 800, "height": 500, "level": 0}
    events = analyse(spatial, body)

    names = [name for name, _ in events]
    assert names[-1] == "complete" and set(names[:-1]) == {"progress"}
    progress = [data for name, data in events if name == "progress"]
    # The stand-in is silent for 0.8 s at a time: one event per change, none to
    # fill the silence (the inference service's heartbeats are dropped).
    for event in progress:
        assert set(event) == {"type", "current", "total", "percentage", "message"}
        assert event["type"] == "progress"
    assert [event["message"] for event in progress] == [
        "Reading region",
        "Processing batch 1/3",
        "Processing batch 2/3",
        "Processing batch 3/3",
        f"Storing {events[-1][1]['count']} nuclei",
    ]

    complete = events[-1][1]
    assert set(complete) == {"type", "box", "nuclei", "count"}
    box = complete["box"]
    assert set(box) == BOX_FIELDS
    assert (box["x_min"], box["y_min"], box["x_max"], box["y_max"]) == (0, 0, 600, 400)
    expected = grid_nuclei(0, 0, 600, 400, spatial.script.spacing)
    assert complete["count"] == len(expected) == len(complete["nuclei"]) == box["total_nuclei"]
    assert all(set(n) == NUCLEUS_FIELDS for n in complete["nuclei"])
    assert sorted((n["x"], n["y"]) for n in complete["nuclei"]) == sorted(
        (n.x, n.y) for n in expected
    )
    assert box["label"] == "Analysis 1"
    assert box["area_mm2"] == pytest.approx(600 * 400 * MPP**2 * 1e-6)
    assert set(box["cell_type_counts"]) == {str(t) for t in range(6)}
    assert box["cell_type_counts"]["1"] == {"count": len(expected[1::6]), "name": "Neoplastic"}
    assert spatial.box_count(slide_id) == 1


def test_bad_regions_are_refused_before_the_stream(spatial: Spatial):
    slide_id = spatial.slide()
    outside = {"slide_id": slide_id, "x": 5000, "y": 0, "width": 100, "height": 100}
    response = spatial.api.post("/api/inference/viewport-stream", json=outside)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "outside the slide" in response.text
    unknown = {**outside, "slide_id": str(uuid.uuid4()), "x": 0}
    assert spatial.api.post("/api/inference/viewport-stream", json=unknown).status_code == 404
    bad_level = {**outside, "x": 0, "level": -1}
    assert spatial.api.post("/api/inference/viewport-stream", json=bad_level).status_code == 400
    assert spatial.box_count(slide_id) == 0


def test_a_failed_analysis_is_an_error_event_and_stores_nothing(spatial: Spatial):
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s, spatial.script.fail = 1, 0.1, True
    try:
        events = analyse(
            spatial, {"slide_id": slide_id, "x": 0, "y": 0, "width": 300, "height": 300}
        )
    finally:
        spatial.script.fail = False
    assert events[0][0] == "progress"
    name, error = events[-1]
    assert name == "error" and "out of memory" in json.dumps(error)
    assert spatial.box_count(slide_id) == 0


def test_a_client_that_leaves_cancels_the_analysis_and_nothing_is_stored(spatial: Spatial):
    slide_id = spatial.slide()
    script = spatial.script
    script.steps, script.step_s = 20, 0.5
    cancelled, finished = script.cancelled, script.finished
    body = {"slide_id": slide_id, "x": 0, "y": 0, "width": 400, "height": 400}
    with spatial.api.stream("POST", "/api/inference/viewport-stream", json=body) as response:
        first = read_sse(response, stop_after=2)
        assert [name for name, _ in first] == ["progress", "progress"]
    # The connection is closed mid-analysis (10 s of work left).
    deadline = time.monotonic() + 15
    while script.cancelled == cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert script.cancelled == cancelled + 1
    assert script.finished == finished
    assert spatial.box_count(slide_id) == 0


@pytest.fixture(scope="module")
def analysed(spatial: Spatial) -> tuple[str, list[dict]]:
    """A slide with two overlapping analyses, newest first."""
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s = 1, 0.05
    boxes = []
    for x in (0, 300):
        events = analyse(
            spatial, {"slide_id": slide_id, "x": x, "y": 0, "width": 600, "height": 600}
        )
        boxes.append(events[-1][1]["box"])
    return slide_id, boxes[::-1]


def test_roi_stats_count_the_overlap_once(spatial: Spatial, analysed):
    slide_id, (newer, older) = analysed
    body = {"slide_id": slide_id, "x_min": -50, "y_min": 0, "x_max": 900, "y_max": 600}
    response = spatial.api.post("/api/roi/stats", json=body)
    assert response.status_code == 200, response.text
    stats = response.json()
    # 600x600 with a nucleus every 50 px: 144 per box; the overlap 300..600 counted once.
    assert newer["total_nuclei"] == older["total_nuclei"] == 144
    assert stats["total_nuclei"] == 144 + 72
    assert stats["bounds_l0"] == {"x_min": 0, "y_min": 0, "x_max": 900, "y_max": 600}
    assert stats["mpp"] == MPP
    assert stats["area_mm2"] == pytest.approx(900 * 600 * MPP**2 * 1e-6)
    assert stats["density_per_mm2"] == pytest.approx(stats["total_nuclei"] / stats["area_mm2"])
    breakdown = stats["cell_type_breakdown"]
    assert [item["cell_type"] for item in breakdown] == list(range(6))
    assert [item["cell_type_name"] for item in breakdown] == TYPE_NAMES
    assert sum(item["count"] for item in breakdown) == stats["total_nuclei"]
    assert stats["neoplastic_ratio"] == pytest.approx(breakdown[1]["count"] / 216)
    assert sum(item["fraction"] for item in breakdown) == pytest.approx(1)

    empty = spatial.api.post("/api/roi/stats", json={**body, "x_min": 1000, "x_max": 1100})
    assert empty.json()["total_nuclei"] == 0
    assert [item["count"] for item in empty.json()["cell_type_breakdown"]] == [0] * 6
    unknown = spatial.api.post("/api/roi/stats", json={**body, "slide_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    outside = spatial.api.post("/api/roi/stats", json={**body, "x_min": 5000, "x_max": 6000})
    assert outside.status_code == 400


def test_roi_nuclei_in_a_viewport(spatial: Spatial, analysed):
    slide_id, _ = analysed
    body = {"slide_id": slide_id, "x": 250, "y": 0, "width": 100, "height": 100, "level": 0}
    response = spatial.api.post("/api/roi/nuclei", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["bounds_l0"] == {"x_min": 250, "y_min": 0, "x_max": 350, "y_max": 100}
    assert data["truncated"] is False
    # Columns x = 275, 325 and rows y = 25, 75: once each although two boxes hold 325.
    assert sorted((n["x"], n["y"]) for n in data["nuclei"]) == [
        (275, 25),
        (275, 75),
        (325, 25),
        (325, 75),
    ]
    assert all(set(n) == NUCLEUS_FIELDS for n in data["nuclei"])
    # `level` is a zoom hint: the rectangle is level 0 at any level, past the pyramid too.
    for level in (1, 5):
        zoomed = spatial.api.post("/api/roi/nuclei", json={**body, "level": level}).json()
        assert zoomed["bounds_l0"] == data["bounds_l0"] and zoomed["nuclei"] == data["nuclei"]
    assert (
        spatial.api.post(
            "/api/roi/nuclei", json={**body, "slide_id": str(uuid.uuid4())}
        ).status_code
        == 404
    )


def test_boxes_list_detail_export_and_delete(spatial: Spatial, analysed):
    slide_id, (newer, older) = analysed
    listed = spatial.api.get(f"/api/boxes/{slide_id}").json()
    assert listed["slide_id"] == slide_id
    assert [box["id"] for box in listed["boxes"]] == [newer["id"], older["id"]]
    assert [box["label"] for box in listed["boxes"]] == ["Analysis 2", "Analysis 1"]
    assert all(set(box) == BOX_FIELDS for box in listed["boxes"])

    detail = spatial.api.get(f"/api/boxes/detail/{older['id']}").json()
    # Its own run's figures, though half of it is covered by the newer box.
    assert detail["total_nuclei"] == 144
    counts = [detail["cell_type_counts"][str(t)]["count"] for t in range(6)]
    assert [item["count"] for item in detail["cell_type_breakdown"]] == counts
    assert detail["viability"] == pytest.approx((144 - counts[4]) / 144)
    assert detail["inflammatory_index"] == pytest.approx(counts[2] / (144 - counts[0]))
    assert detail["immune_tumour_ratio"] == pytest.approx(counts[2] / counts[1])
    assert detail["ne_epithelial_ratio"] == pytest.approx(counts[1] / counts[5])
    assert detail["shannon_h"] == pytest.approx(1.7917, abs=1e-3)  # six equal shares: ln 6

    exported = spatial.api.get(f"/api/boxes/{older['id']}/geojson")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/geo+json")
    assert_qupath_collection(exported.json(), 72)  # the half no newer box covers
    region = {"slide_id": slide_id, "x_min": 0, "y_min": 0, "x_max": 2000, "y_max": 1500}
    assert_qupath_collection(spatial.api.post("/api/roi/geojson", json=region).json(), 216)

    assert spatial.api.delete(f"/api/boxes/{newer['id']}").status_code == 204
    for path in (f"/api/boxes/detail/{newer['id']}", f"/api/boxes/{newer['id']}/geojson"):
        assert spatial.api.get(path).status_code == 404
    assert spatial.api.delete(f"/api/boxes/{newer['id']}").status_code == 404
    # The older box stands for its whole rectangle again.
    stats = spatial.api.post("/api/roi/stats", json=region).json()
    assert stats["total_nuclei"] == 144
    assert spatial.api.get(f"/api/boxes/{uuid.uuid4()}").status_code == 404
    assert spatial.api.get("/api/boxes/detail/not-a-uuid").status_code == 400


def test_streams_survive_clients_that_leave_at_once(spatial: Spatial, analysed):
    """Downloads and live analyses closed before their body is read, many times
    over: the spatial service stays up and answers in full afterwards."""
    slide_id, (_, older) = analysed
    region = {"slide_id": slide_id, "x_min": 0, "y_min": 0, "x_max": 2000, "y_max": 1500}
    whole = spatial.api.post("/api/roi/geojson", json=region).json()
    viewport = {"slide_id": slide_id, "x": 0, "y": 0, "width": 300, "height": 300}
    spatial.script.steps, spatial.script.step_s = 3, 0.2
    boxes = spatial.box_count(slide_id)
    for _ in range(40):
        with spatial.api.stream("GET", f"/api/boxes/{older['id']}/geojson") as response:
            assert response.status_code == 200
        with spatial.api.stream("POST", "/api/roi/geojson", json=region) as response:
            assert response.status_code == 200
    for _ in range(5):
        with spatial.api.stream(
            "POST", "/api/inference/viewport-stream", json=viewport
        ) as response:
            assert response.status_code == 200
    health = httpx.get(f"{spatial.base_url}/health", timeout=10).json()
    assert health["backends"]["spatial"]["status"] == "serving"
    assert spatial.api.post("/api/roi/geojson", json=region).json() == whole
    assert spatial.box_count(slide_id) == boxes  # the abandoned analyses stored nothing


def test_deleting_the_slide_deletes_its_analyses(spatial: Spatial):
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s = 1, 0.05
    analyse(spatial, {"slide_id": slide_id, "x": 0, "y": 0, "width": 200, "height": 200})
    assert spatial.box_count(slide_id) == 1
    assert spatial.api.delete(f"/api/slides/{slide_id}").status_code in (200, 204)
    assert spatial.box_count(slide_id) == 0


def test_mcp_tools_analyse_with_progress_and_answer(spatial: Spatial):
    slide_id = spatial.slide()
    spatial.script.steps, spatial.script.step_s = 2, 0.3
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def session():
        async with Client(f"{spatial.base_url}/mcp") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            analysed = await client.call_tool(
                "analyze_region",
                {"slide_id": slide_id, "x": 0, "y": 0, "width": 400, "height": 300},
                progress_callback=on_progress,
            )
            region = {"slide_id": slide_id, "x_min": 0, "y_min": 0, "x_max": 400, "y_max": 300}
            stats = await client.call_tool("roi_stats", region)
            boxes = await client.call_tool("list_boxes", {"slide_id": slide_id})
            geojson = await client.call_tool("export_geojson", region)
            missing = await client.call_tool("list_boxes", {"slide_id": str(uuid.uuid4())})
            return tools, analysed, stats, boxes, geojson, missing

    tools, analysed, stats, boxes, geojson, missing = asyncio.run(session())
    assert tools >= {"analyze_region", "roi_stats", "list_boxes", "export_geojson", "list_slides"}
    assert not analysed.is_error, analysed.content
    result = analysed.structured_content
    assert result["count"] == 48 and result["box"]["total_nuclei"] == 48
    assert progress and any(message and "batch" in message for _, _, message in progress)
    assert stats.structured_content["total_nuclei"] == 48
    assert [box["id"] for box in boxes.structured_content["boxes"]] == [result["box"]["id"]]
    assert_qupath_collection(geojson.structured_content, 48)
    assert missing.is_error and "NOT_FOUND" in missing.content[0].text
