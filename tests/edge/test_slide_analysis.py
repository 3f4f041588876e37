"""Whole-slide analysis through the edge: REST start, status, regions and cancel,
the SSE progress stream, the MCP tools and the CLI, against the real platform
(the spatial service's job, the real inference service with random HoVerNet
weights on a small painted slide).

The spatial service's own tests (tests/spatial/test_slide_analysis.py) check the
nuclei against painted truth with the oracle model; here the point is the
interfaces: documented bodies, progress, ends, errors.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from mcp import Client

from edge.app import create_app
from tests.cli.helpers import failed, invoke, ok
from tests.edge.test_docs import _events_match, _matches
from tests.inference.synthetic import SMALL_SLIDE_NUCLEI, write_small_slide

REGION = 256


@pytest.fixture(scope="module")
def schema() -> dict:
    return create_app().openapi()


@pytest.fixture
def slide_id(platform, tmp_path) -> Iterator[str]:
    path = write_small_slide(tmp_path / "whole-slide.svs")
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge, path.open("rb") as file:
        uploaded = edge.post("/api/slides/upload", files={"file": ("whole-slide.svs", file)})
        assert uploaded.status_code in (200, 201), uploaded.text
        slide = uploaded.json()["id"]
        yield slide
        edge.delete(f"/api/slides/{slide}")


@pytest.mark.slow
def test_rest_and_sse_follow_a_whole_slide_analysis_to_its_box(platform, schema, slide_id):
    with httpx.Client(base_url=platform.base_url, timeout=600) as edge:
        body = {"slide_id": slide_id, "label": "whole", "region_size": REGION}
        started = _matches(
            schema, edge.post("/api/slide-analysis/start", json=body), "post",
            "/api/slide-analysis/start", "202",
        )  # fmt: skip
        job_id, box_id = started["job_id"], started["box_id"]
        assert started["regions"] >= 1
        assert started["tissue_mm2"] > 0
        assert started["status"]["slide_id"] == slide_id
        assert started["status"]["box_id"] == box_id

        events = _events_match(
            schema, edge, "get", "/api/slide-analysis/events/{job_id}", job_id=job_id
        )
        names = [name for name, _ in events]
        assert names[-1] == "complete" and set(names[:-1]) == {"progress"}
        last = events[-2][1]
        assert last["status"] == "completed"
        assert last["progress"]["regions_done"] == last["progress"]["regions_total"]
        assert last["progress"]["regions_total"] == started["regions"]
        assert last["progress"]["mm2_done"] == pytest.approx(started["tissue_mm2"])
        complete = events[-1][1]
        assert complete["box"]["id"] == box_id and complete["box"]["label"] == "whole"
        # The box's area is the analysed tissue's, not the slide's (glass included).
        assert complete["box"]["area_mm2"] == pytest.approx(started["tissue_mm2"])
        assert complete["box"]["total_nuclei"] == last["progress"]["nuclei"]

        path = "/api/slide-analysis/status/{job_id}"
        status = _matches(schema, edge.get(path.format(job_id=job_id)), "get", path)
        assert status == {**last, "updated_at": status["updated_at"]}

        path = "/api/slide-analysis/regions/{job_id}"
        regions = _matches(schema, edge.get(path.format(job_id=job_id)), "get", path)
        assert len(regions["regions"]) == started["regions"]
        assert all(region["stored"] for region in regions["regions"])
        assert (
            sum(int(region.get("nuclei", 0)) for region in regions["regions"])
            == (complete["box"]["total_nuclei"])
        )

        # The whole slide's statistics are the analysis's.
        slide = edge.get(f"/api/slides/{slide_id}").json()
        whole = {"slide_id": slide_id, "x_min": 0, "y_min": 0}
        whole |= {"x_max": slide["width_px"], "y_max": slide["height_px"]}
        stats = edge.post("/api/roi/stats", json=whole).json()
        assert stats["total_nuclei"] == complete["box"]["total_nuclei"]

        path = "/api/slide-analysis/jobs"
        listed = _matches(schema, edge.get(path, params={"slide_id": slide_id}), "get", path)
        assert [item["job_id"] for item in listed["analyses"]] == [job_id]
        active = edge.get(path, params={"slide_id": slide_id, "active": True}).json()
        assert active == {"analyses": [], "total": 0}

        # An ended job cannot be cancelled (as PyAMA's jobs).
        refused = edge.post(f"/api/slide-analysis/cancel/{job_id}")
        assert refused.status_code == 400
        assert refused.json()["error_code"] == "JOB_ALREADY_COMPLETED"


def test_a_running_analysis_is_cancelled_and_listed_until_then(platform, slide_id):
    with httpx.Client(base_url=platform.base_url, timeout=60) as edge:
        body = {"slide_id": slide_id, "region_size": REGION}
        started = edge.post("/api/slide-analysis/start", json=body).json()
        job_id = started["job_id"]
        active = edge.get("/jobs").json()["data"]["active_jobs"]
        assert job_id in {job["job_id"] for job in active}  # /jobs asks spatial too

        cancelling = edge.post(f"/api/slide-analysis/cancel/{job_id}").json()
        assert cancelling["cancel_requested"] or cancelling["status"] == "cancelled"
        deadline = time.monotonic() + 60
        status = cancelling
        while status["status"] not in {"cancelled", "completed", "failed"}:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
            status = edge.get(f"/api/slide-analysis/status/{job_id}").json()
        assert status["status"] == "cancelled"
        # The box stays with what was stored before the cancel; a job cancelled
        # before its first region was stored leaves no empty box behind.
        stored = status["progress"]["regions_done"] > 0
        box = edge.get(f"/api/boxes/detail/{started['box_id']}")
        assert box.status_code == (200 if stored else 404), (status, box.text)


def test_bad_requests_name_the_problem(platform, slide_id):
    with httpx.Client(base_url=platform.base_url, timeout=30) as edge:
        start = "/api/slide-analysis/start"
        for body, field in (
            ({"slide_id": "not-a-uuid"}, "slide_id"),
            ({"slide_id": slide_id, "region_size": -1}, "region_size"),
            ({"slide_id": slide_id, "region_size": 2**63}, "region_size"),
        ):
            answer = edge.post(start, json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert field in answer.text
        too_small = edge.post(start, json={"slide_id": slide_id, "region_size": 8})
        assert too_small.status_code == 400 and "region_size" in too_small.text
        unknown = edge.post(start, json={"slide_id": str(uuid.uuid4())})
        assert unknown.status_code == 404
        missing = str(uuid.uuid4())
        for method, path in (
            ("GET", f"/api/slide-analysis/status/{missing}"),
            ("GET", f"/api/slide-analysis/events/{missing}"),
            ("GET", f"/api/slide-analysis/regions/{missing}"),
            ("POST", f"/api/slide-analysis/cancel/{missing}"),
        ):
            answer = edge.request(method, path)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["error_code"] in {"JOB_NOT_FOUND", "NOT_FOUND"}


def test_mcp_tools_start_follow_and_report_progress(platform, slide_id, oracle_network):
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            started = await client.call_tool(
                "start_slide_analysis", {"slide_id": slide_id, "region_size": REGION}
            )
            job_id = started.structured_content["job_id"]
            final = await client.call_tool(
                "wait_for_slide_analysis", {"job_id": job_id}, progress_callback=on_progress
            )
            status = await client.call_tool("get_slide_analysis", {"job_id": job_id})
            missing = await client.call_tool("get_slide_analysis", {"job_id": str(uuid.uuid4())})
            return started, final, status, missing

    started, final, status, missing = asyncio.run(session())
    assert not started.is_error, started.content
    assert started.structured_content["regions"] >= 1
    assert final.structured_content["status"] == "completed"
    regions = final.structured_content["progress"]["regions_total"]
    assert progress and progress[-1][:2] == (regions, regions)
    assert status.structured_content == final.structured_content
    assert final.structured_content["progress"]["nuclei"] == len(SMALL_SLIDE_NUCLEI)
    assert missing.is_error and "NOT_FOUND" in missing.content[0].text


def test_cli_analyze_without_a_box_runs_the_whole_slide(platform, slide_id, oracle_network):
    outcome = invoke(platform.base_url, "analyze", slide_id, "--region-size", str(REGION), "--json")
    result = ok(outcome)
    assert result["box"]["slide_id"] == slide_id
    assert result["count"] == result["box"]["total_nuclei"] == len(SMALL_SLIDE_NUCLEI)
    shown = ok(invoke(platform.base_url, "jobs", "show", result["job_id"], "--json"))
    assert shown["status"] == "completed"
    bad = failed(invoke(platform.base_url, "analyze", str(uuid.uuid4()), "--json"), "NOT_FOUND")
    assert bad["status"] == 404
