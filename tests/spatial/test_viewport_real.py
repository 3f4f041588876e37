"""The viewport stream through the real platform: edge -> spatial -> slides and the
real inference service (HoVerNet, random weights: the real forward pass and
post-processing; what it finds is arbitrary, so the test checks that the stream,
the stored box and its nuclei agree). The slide is the real H&E crop of
../shared/data when present, else a synthetic Aperio slide."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SHARED_DATA
from tests.slides.conftest import upload_bytes, write_aperio_svs

from .test_api import BOX_FIELDS, NUCLEUS_FIELDS, read_sse

REAL_HE = SHARED_DATA / "wsi" / "derived-OS-1-detail.generic-tiled.tif"  # 1101 px, 0.227 um/px


@pytest.mark.slow
@pytest.mark.model
def test_viewport_stream_through_real_inference(platform, tmp_path):
    slide = REAL_HE if REAL_HE.is_file() else write_aperio_svs(tmp_path / "he.svs", 2000, 1500)
    with httpx.Client(base_url=platform.base_url, timeout=600) as api:
        response = upload_bytes(api, slide.read_bytes(), slide.name)
        assert response.status_code == 201, response.text
        slide_id = response.json()["id"]
        body = {"slide_id": slide_id, "x": 900, "y": 700, "width": 164, "height": 164}
        with api.stream("POST", "/api/inference/viewport-stream", json=body) as stream:
            assert stream.status_code == 200, stream.read()
            events = read_sse(stream)

        names = [name for name, _ in events]
        assert names[-1] == "complete", events[-1]
        assert set(names[:-1]) == {"progress"}
        complete = events[-1][1]
        box = complete["box"]
        assert set(box) == BOX_FIELDS
        assert (box["x_min"], box["y_min"], box["x_max"], box["y_max"]) == (900, 700, 1064, 864)
        assert complete["count"] == len(complete["nuclei"]) == box["total_nuclei"]
        for nucleus in complete["nuclei"]:
            assert set(nucleus) == NUCLEUS_FIELDS
            assert 900 <= nucleus["x"] < 1064 and 700 <= nucleus["y"] < 864
            assert 0 <= nucleus["probability"] <= 1

        listed = api.get(f"/api/boxes/{slide_id}").json()["boxes"]
        assert [b["id"] for b in listed] == [box["id"]]
        region = {"slide_id": slide_id, "x_min": 0, "y_min": 0, "x_max": 2000, "y_max": 2000}
        stats = api.post("/api/roi/stats", json=region).json()
        assert stats["total_nuclei"] == complete["count"]
        exported = api.get(f"/api/boxes/{box['id']}/geojson").json()
        assert len(exported["features"]) == complete["count"]
