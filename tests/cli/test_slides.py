"""slides ls|upload|rm|info, analyze, roi-stats, boxes ls|show|rm and export-geojson
with a real slide (an H&E crop as a pyramidal tiled TIFF) and the platform's random
HoVerNet weights."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.client import EdgeClient
from tests.cli.helpers import Run, failed, ok

SLIDE = "wsi/derived-OS-1-detail.generic-tiled.tif"
REGION = "0,0,256,256"


@pytest.fixture
def slide(cli: Run, shared_data: Path) -> Iterator[dict]:
    uploaded = ok(cli("slides", "upload", str(shared_data / SLIDE), "--json"))
    yield uploaded
    cli("slides", "rm", uploaded["id"])


def test_upload_ls_info_rm(cli, slide):
    assert slide["filename"] == Path(SLIDE).name
    assert (slide["width_px"], slide["height_px"]) == (1101, 1101)
    assert abs(slide["mpp"] - 0.227) < 1e-3
    assert slide["id"] in {item["id"] for item in ok(cli("slides", "ls", "--json"))}
    assert ok(cli("slides", "info", slide["id"], "--json")) == slide
    table = cli("slides", "ls")
    assert table.exit_code == 0
    assert Path(SLIDE).name in table.stdout

    assert ok(cli("slides", "rm", slide["id"], "--json")) == {"deleted": slide["id"]}
    gone = failed(cli("slides", "info", slide["id"], "--json"), "NOT_FOUND")
    assert gone["status"] == 404


def test_upload_streams_the_file_in_chunks(platform, shared_data):
    """The upload reads the file piece by piece as it sends it, never whole."""
    path = shared_data / SLIDE
    pieces: list[int] = []
    client = EdgeClient(platform.base_url)
    try:
        uploaded = client.upload("/api/slides/upload", path, pieces.append)
        client.call("DELETE", f"/api/slides/{uploaded['id']}")
    finally:
        client.close()
    assert sum(pieces) == path.stat().st_size
    assert len(pieces) > 2
    assert max(pieces) <= 1 << 16


def test_a_file_that_is_not_a_slide_is_refused(cli, shared_data):
    body = failed(
        cli("slides", "upload", str(shared_data / "nd2/arcadia-known-metadata.yml"), "--json"),
        "INVALID_PARAMETERS",
    )
    assert body["status"] == 400
    assert ".yml" in body["error"]


def test_unknown_and_malformed_slide_ids(cli):
    failed(cli("slides", "info", str(uuid.uuid4()), "--json"), "NOT_FOUND")
    failed(cli("slides", "rm", str(uuid.uuid4()), "--json"), "NOT_FOUND")
    body = failed(cli("slides", "info", "not-a-uuid", "--json"), "INVALID_PARAMETERS")
    assert body["status"] == 400


def test_a_malformed_box_is_a_usage_error(cli):
    for box in ("1,2,3", "a,b,c,d", "0,0,0,10"):
        body = failed(
            cli("analyze", str(uuid.uuid4()), "--box", box, "--json"), "INVALID_PARAMETERS", 2
        )
        assert "--box" in body["error"]


@pytest.mark.slow
@pytest.mark.model
def test_analyze_then_boxes_roi_stats_and_geojson(cli, slide, tmp_path):
    analyzed = cli("analyze", slide["id"], "--box", REGION, "--json")
    result = ok(analyzed)
    box = result["box"]
    assert box["slide_id"] == slide["id"]
    assert (box["x_min"], box["y_min"], box["x_max"], box["y_max"]) == (0, 0, 256, 256)
    assert box["total_nuclei"] == result["count"]

    listed = ok(cli("boxes", "ls", slide["id"], "--json"))
    assert [item["id"] for item in listed["boxes"]] == [box["id"]]
    detail = ok(cli("boxes", "show", box["id"], "--json"))
    assert detail["total_nuclei"] == box["total_nuclei"]
    assert "shannon_h" in detail
    shown = cli("boxes", "show", box["id"])
    assert shown.exit_code == 0 and "Cell types" in shown.stdout

    stats = ok(cli("roi-stats", slide["id"], "--box", REGION, "--json"))
    assert stats["total_nuclei"] == box["total_nuclei"]
    assert stats["bounds_l0"] == {"x_min": 0, "y_min": 0, "x_max": 256, "y_max": 256}

    output = tmp_path / "nuclei.geojson"
    written = ok(cli("export-geojson", box["id"], "-o", str(output), "--json"))
    assert written["output"] == str(output)
    features = json.loads(output.read_text())
    features = features["features"] if isinstance(features, dict) else features
    assert len(features) == box["total_nuclei"]

    assert ok(cli("boxes", "rm", box["id"], "--json")) == {"deleted": box["id"]}
    assert ok(cli("boxes", "ls", slide["id"], "--json"))["boxes"] == []
    failed(cli("boxes", "show", box["id"], "--json"), "NOT_FOUND")


def test_analyze_an_unknown_slide_is_not_found(cli):
    outcome = cli("analyze", str(uuid.uuid4()), "--box", REGION, "--json")
    body = failed(outcome, "NOT_FOUND")
    assert body["status"] == 404


def test_export_of_an_unknown_box_writes_nothing(cli, tmp_path):
    output = tmp_path / "nuclei.geojson"
    outcome = cli("export-geojson", str(uuid.uuid4()), "-o", str(output), "--json")
    body = outcome.data
    assert outcome.exit_code == 1 and body["status"] == 404, body
    assert list(tmp_path.iterdir()) == []
