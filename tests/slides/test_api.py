"""/api/slides end to end: HTTP -> the real edge -> the real slides service -> disk,
PostgreSQL and OpenSlide (spec/slidekick-api.md, "Slides")."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import socket
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import openslide
import pytest
from mcp import Client
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

from .conftest import (
    APERIO_MPP,
    APERIO_SIZE,
    GENERIC_SIZE,
    LimitedSlides,
    SlidesPlatform,
    multipart_body,
    upload_bytes,
)

IMAGE_CACHE = "public, max-age=86400"
SLIDE_FIELDS = {"id", "filename", "mpp", "width_px", "height_px", "created_at"}


def reference_tile(path: Path, level: int, col: int, row: int) -> tuple[bytes, Image.Image]:
    """The tile as the openslide-python example server makes it: DeepZoomGenerator
    (254 px, overlap 1, whole slide), JPEG quality 75, ICC profile embedded."""
    with openslide.OpenSlide(str(path)) as slide:
        tile = DeepZoomGenerator(slide, 254, 1, limit_bounds=False).get_tile(level, (col, row))
    buffer = io.BytesIO()
    tile.save(buffer, "jpeg", quality=75, icc_profile=tile.info.get("icc_profile"))
    return buffer.getvalue(), tile


def deepzoom_addresses(path: Path) -> list[tuple[int, int, int]]:
    """Tiles worth comparing: the 1-pixel top, a middle level's corners, the
    full-resolution corners (edge tiles are cut short) and one inside."""
    with openslide.OpenSlide(str(path)) as slide:
        generator = DeepZoomGenerator(slide, 254, 1, limit_bounds=False)
        tiles = generator.level_tiles
    last = len(tiles) - 1
    middle = last - 2
    cols, rows = tiles[last]
    return [
        (0, 0, 0),
        (middle, 0, 0),
        (middle, tiles[middle][0] - 1, tiles[middle][1] - 1),
        (last, 0, 0),
        (last, cols // 2, rows // 2),
        (last, cols - 1, rows - 1),
    ]


def assert_tiles_match(slides: SlidesPlatform, slide_id: str, path: Path) -> None:
    for level, col, row in deepzoom_addresses(path):
        response = slides.api.get(f"/api/slides/{slide_id}/dzi_files/{level}/{col}_{row}.jpeg")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == IMAGE_CACHE
        expected_bytes, expected_tile = reference_tile(path, level, col, row)
        assert response.content == expected_bytes, (level, col, row)
        served = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), np.int16)
        raw = np.asarray(expected_tile.convert("RGB"), np.int16)
        assert served.shape == raw.shape
        # What JPEG at quality 75 loses on stripes and checkerboards, nothing more.
        assert np.abs(served - raw).mean() < 16


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["detail"]
    if code is not None:
        assert body["error_code"] == code
    return body


@pytest.fixture(scope="module")
def svs_slide(slides: SlidesPlatform, aperio_svs: Path) -> dict:
    """The synthetic Aperio slide, uploaded once for the read-only tests."""
    return slides.upload_ok(aperio_svs, "case-01.svs")


# Upload and registry -------------------------------------------------------------


def test_upload_registers_an_aperio_svs(slides: SlidesPlatform, svs_slide: dict) -> None:
    assert set(svs_slide) >= SLIDE_FIELDS
    assert uuid.UUID(svs_slide["id"]).version == 4
    assert svs_slide["filename"] == "case-01.svs"
    assert svs_slide["mpp"] == pytest.approx(APERIO_MPP)
    assert (svs_slide["width_px"], svs_slide["height_px"]) == APERIO_SIZE
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", svs_slide["created_at"])
    created = datetime.fromisoformat(svs_slide["created_at"])
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    assert svs_slide["vendor"] == "aperio"
    assert svs_slide["objective_power"] == 40
    assert svs_slide["level_count"] == 4 and len(svs_slide["levels"]) == 4
    assert svs_slide["levels"][0] == {"width": 2000, "height": 1500, "downsample": 1.0}
    # Stored under its UUID, inside the slides folder, nothing else left from the upload.
    assert f"{svs_slide['id']}.svs" in slides.entries()
    assert not [name for name in slides.entries() if name.startswith(".upload-")]

    response = slides.api.get(f"/api/slides/{svs_slide['id']}")
    assert response.status_code == 200
    assert response.json() == svs_slide


def test_formats_are_the_services_own_list(slides: SlidesPlatform) -> None:
    response = slides.api.get("/api/slides/formats")
    assert response.status_code == 200
    assert response.json() == {
        "extensions": [".svs", ".ndpi", ".tiff", ".tif", ".scn", ".bif", ".zip"],
        "zipped_extensions": [".mrxs", ".vms"],
    }


def test_list_is_newest_first(slides: SlidesPlatform, generic_tiff: Path, svs_slide: dict) -> None:
    newer = slides.upload_ok(generic_tiff, "plain.tif")
    response = slides.api.get("/api/slides/")
    assert response.status_code == 200
    listed = [slide["id"] for slide in response.json()]
    assert listed.index(newer["id"]) < listed.index(svs_slide["id"])
    assert response.json()[listed.index(newer["id"])] == newer
    # A generic TIFF without resolution tags: the assumed mpp (never null), said so.
    assert (newer["mpp"], newer["mpp_y"], newer["mpp_assumed"]) == (0.25, 0.25, True)
    assert newer["vendor"] == "generic-tiff"
    assert (newer["width_px"], newer["height_px"]) == GENERIC_SIZE


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/evil.svs", "evil.svs"),
        ("..\\..\\Windows\\evil.svs", "evil.svs"),
        ("/var/slides/../x/abs.svs", "abs.svs"),
    ],
)
def test_traversal_filenames_keep_only_their_last_part(
    slides: SlidesPlatform, aperio_svs: Path, sent: str, kept: str
) -> None:
    before = slides.entries()
    slide = slides.upload_ok(aperio_svs, sent)
    assert slide["filename"] == kept
    assert slides.entries() - before == {f"{slide['id']}.svs"}
    assert slides.api.delete(f"/api/slides/{slide['id']}").status_code == 204


def test_bidirectional_controls_are_stripped_from_the_stored_name(
    slides: SlidesPlatform, aperio_svs: Path
) -> None:
    # "case\u202egpj.svs" would show as "casesvs.jpg" in a listing.
    slide = slides.upload_ok(aperio_svs, "\u2066case\u2069\u202egpj\u200f.svs")
    assert slide["filename"] == "casegpj.svs"
    listed = slides.api.get(f"/api/slides/{slide['id']}").json()
    assert listed["filename"] == "casegpj.svs"
    assert slides.api.delete(f"/api/slides/{slide['id']}").status_code == 204


@pytest.mark.parametrize("name", ["notes.txt", "slide.jpg", "slide", "slide.svs.exe"])
def test_wrong_extension_is_400(slides: SlidesPlatform, aperio_svs: Path, name: str) -> None:
    before = slides.entries()
    body = assert_error(slides.upload(aperio_svs, name), 400, "INVALID_PARAMETERS")
    assert "extension" in body["error"]
    assert slides.entries() == before


def test_bare_mirax_must_come_zipped(slides: SlidesPlatform) -> None:
    body = assert_error(slides.upload_data(b"x" * 100, "scan.mrxs"), 400)
    assert ".zip" in body["error"]


def test_zipped_slide_is_accepted(slides: SlidesPlatform, aperio_svs: Path, tmp_path: Path):
    archive = tmp_path / "case.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(aperio_svs, "case/scan.svs")
    slide = slides.upload_ok(archive)
    assert slide["filename"] == "case.zip" and slide["vendor"] == "aperio"
    assert (slides.slides_dir / slide["id"]).is_dir()
    assert slides.api.get(f"/api/slides/{slide['id']}/dzi").status_code == 200
    assert slides.api.delete(f"/api/slides/{slide['id']}").status_code == 204
    assert not (slides.slides_dir / slide["id"]).exists()


def test_zip_bomb_is_413_and_leaves_nothing(slides: SlidesPlatform, zip_bomb: Path) -> None:
    # 256 KiB on the wire, 256 MiB unpacked: refused by its ratio before unpacking.
    before = slides.entries()
    body = assert_error(slides.upload(zip_bomb), 413, "PAYLOAD_TOO_LARGE")
    assert "Data0000.dat" in body["error"] and "compressed size" in body["error"]
    assert slides.entries() == before


def test_corrupt_slide_is_422_and_leaves_nothing(slides: SlidesPlatform, aperio_svs: Path):
    before = slides.entries()
    truncated = aperio_svs.read_bytes()[: 1024 * 1024]
    body = assert_error(slides.upload_data(truncated, "broken.svs"), 422, "UNPROCESSABLE_SLIDE")
    assert "broken.svs" in body["error"]  # the client's name, not the temporary one
    assert slides.entries() == before


def test_real_ome_tiff_openslide_cannot_read_is_422(slides: SlidesPlatform, real_ome_tiff: Path):
    before = slides.entries()
    assert_error(slides.upload(real_ome_tiff), 422, "UNPROCESSABLE_SLIDE")
    assert slides.entries() == before


def test_upload_without_a_filename_is_400(slides: SlidesPlatform) -> None:
    assert_error(slides.upload_data(b"data", ""), 400)


def test_upload_without_the_file_field_is_400(slides: SlidesPlatform) -> None:
    response = slides.api.post("/api/slides/upload", files={"other": ("a.svs", b"x")})
    assert_error(response, 400)


def test_malformed_multipart_body_is_400(slides: SlidesPlatform) -> None:
    # A header line without a colon, inside the part's headers.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.svs"\r\n'
        b"no header end\r\n\r\ndata\r\n--b--\r\n"
    )
    response = slides.api.post(
        "/api/slides/upload",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert "Malformed multipart body" in assert_error(response, 400)["error"]


def test_body_without_its_closing_boundary_is_not_stored(
    slides: SlidesPlatform, aperio_svs: Path
) -> None:
    # Every byte of a valid slide, but the body stops before "--boundary--": a client
    # or proxy gave up, and nothing says the file was whole.
    before = slides.entries()
    body = multipart_body(aperio_svs.read_bytes(), "cut.svs", "b")
    cut = body[: -len("--b--\r\n")]
    response = slides.api.post(
        "/api/slides/upload",
        content=cut,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert "closing boundary" in assert_error(response, 400, "INVALID_PARAMETERS")["error"]
    # The call was cancelled; the service removes the partial upload as it unwinds.
    deadline = time.monotonic() + 10
    while slides.entries() != before:
        assert time.monotonic() < deadline, slides.entries() - before
        time.sleep(0.02)
    listed = slides.api.get("/api/slides/").json()
    assert "cut.svs" not in {slide["filename"] for slide in listed}


# The lowered upload limit ------------------------------------------------------------


def test_start_sweeps_uploads_a_crash_left_behind(limited_slides: LimitedSlides) -> None:
    # The fixture left fresh .upload-* debris (no live owner) before the service started.
    assert not list(limited_slides.slides_dir.glob(".upload-*"))


def test_oversize_upload_is_413_and_leaves_nothing(limited_slides: LimitedSlides) -> None:
    data = np.random.default_rng(0).bytes(3 * limited_slides.limit)
    boundary = "b"
    response = httpx.post(
        f"{limited_slides.base_url}/api/slides/upload",
        content=multipart_body(data, "huge.svs", boundary),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=30,
    )
    body = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert str(limited_slides.limit) in body["error"]
    assert [p.name for p in limited_slides.slides_dir.iterdir()] == []


def test_the_limit_is_inclusive_and_its_answer_steady(limited_slides: LimitedSlides) -> None:
    """limit bytes reach OpenSlide (422: not a slide), limit + 1 are 413, every time:
    the edge stops at the limit the service announced, so no refusal races a write."""
    with httpx.Client(base_url=limited_slides.base_url, timeout=30) as api:
        at_limit = upload_bytes(api, b"\0" * limited_slides.limit, "exact.svs")
        assert_error(at_limit, 422, "UNPROCESSABLE_SLIDE")
        over = b"\0" * (limited_slides.limit + 1)
        statuses = {upload_bytes(api, over, "over.svs").status_code for _ in range(20)}
        assert statuses == {413}
        statuses = {upload_bytes(api, over, "over.txt").status_code for _ in range(20)}
        assert statuses == {400}
    assert [p.name for p in limited_slides.slides_dir.iterdir()] == []


def _send_upload_start(port: int, filename: str, declared_bytes: int, sent: bytes) -> socket.socket:
    """Start an upload by hand: headers announcing `declared_bytes`, then only `sent`."""
    boundary = "b"
    head = multipart_body(b"", filename, boundary).split(b"\r\n--b--")[0]
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(
        (
            "POST /api/slides/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(head) + declared_bytes}\r\n\r\n"
        ).encode()
        + head
        + sent
    )
    return connection


def _status_line(connection: socket.socket) -> str:
    with connection:
        return connection.recv(65536).split(b"\r\n", 1)[0].decode()


def test_oversize_upload_is_answered_before_the_body_ends(limited_slides: LimitedSlides):
    # 64 MiB announced, 2 MiB sent, then silence: the answer must not wait for the rest.
    started = time.monotonic()
    connection = _send_upload_start(
        limited_slides.edge_port, "huge.svs", 64 * 1024 * 1024, b"\0" * 2 * limited_slides.limit
    )
    assert _status_line(connection) == "HTTP/1.1 413 Request Entity Too Large"
    assert time.monotonic() - started < 10
    assert [p.name for p in limited_slides.slides_dir.iterdir()] == []


def test_wrong_extension_is_refused_before_the_body_is_streamed(limited_slides: LimitedSlides):
    # The header message is checked first: a few bytes of a 64 MiB body suffice for the 400.
    connection = _send_upload_start(limited_slides.edge_port, "notes.txt", 64 * 1024**2, b"abc")
    assert _status_line(connection) == "HTTP/1.1 400 Bad Request"


def test_client_leaving_mid_upload_leaves_nothing(
    slides: SlidesPlatform, platform, aperio_svs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = slides.entries()
    port = int(platform.base_url.rsplit(":", 1)[1])
    data = aperio_svs.read_bytes()
    connection = _send_upload_start(port, "leaving.svs", 64 * 1024 * 1024, data)
    deadline = time.monotonic() + 10
    while not list(slides.slides_dir.glob(".upload-*")):
        assert time.monotonic() < deadline, "the upload never reached the service"
        time.sleep(0.02)
    connection.close()
    while list(slides.slides_dir.glob(".upload-*")):
        assert time.monotonic() < deadline, "the partial upload was left behind"
        time.sleep(0.02)
    assert slides.entries() == before
    # An ordinary event, not a server error.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


# Viewing ----------------------------------------------------------------------------


def test_dzi_descriptor_is_the_documented_xml(slides: SlidesPlatform, svs_slide: dict) -> None:
    response = slides.api.get(f"/api/slides/{svs_slide['id']}/dzi")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Image xmlns="http://schemas.microsoft.com/deepzoom/2008"\n'
        '       Format="jpeg" Overlap="1" TileSize="254">\n'
        '  <Size Width="2000" Height="1500"/>\n'
        "</Image>\n"
    )


def test_tiles_equal_deepzoomgenerator_output(
    slides: SlidesPlatform, svs_slide: dict, aperio_svs: Path
) -> None:
    assert_tiles_match(slides, svs_slide["id"], aperio_svs)


@pytest.mark.parametrize("fixture", ["real_ndpi", "real_generic_tiff"])
def test_real_slides_upload_and_tile(slides: SlidesPlatform, fixture: str, request) -> None:
    path: Path = request.getfixturevalue(fixture)
    slide = slides.upload_ok(path)
    with openslide.OpenSlide(str(path)) as reference:
        assert (slide["width_px"], slide["height_px"]) == reference.dimensions
        assert slide["vendor"] == reference.properties[openslide.PROPERTY_NAME_VENDOR]
        assert slide["level_count"] == reference.level_count
        assert slide["mpp"] == pytest.approx(float(reference.properties["openslide.mpp-x"]))
    assert_tiles_match(slides, slide["id"], path)
    assert slides.api.delete(f"/api/slides/{slide['id']}").status_code == 204


@pytest.mark.parametrize("address", ["99/0_0", "12/0_0", "11/8_0", "11/0_6", "11/-1_0"])
def test_tiles_outside_the_pyramid_are_404(
    slides: SlidesPlatform, svs_slide: dict, address: str
) -> None:
    # 2000 x 1500 px: Deep Zoom levels 0..11, level 11 has 8 x 6 tiles.
    response = slides.api.get(f"/api/slides/{svs_slide['id']}/dzi_files/{address}.jpeg")
    assert_error(response, 404, "NOT_FOUND")


def test_thumbnail_is_cached_on_disk_and_served_from_there(
    slides: SlidesPlatform, svs_slide: dict
) -> None:
    slide_id = svs_slide["id"]
    response = slides.api.get(f"/api/slides/{slide_id}/thumbnail")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == IMAGE_CACHE
    assert max(Image.open(io.BytesIO(response.content)).size) == 200  # the default max_size
    cached = slides.slides_dir / ".thumbnails" / f"{slide_id}_200.jpg"
    assert cached.read_bytes() == response.content

    # Swap the cached file for another picture: the next answer is that picture,
    # so it came from the cache, not from OpenSlide.
    marker = io.BytesIO()
    Image.new("RGB", (20, 10), (255, 0, 0)).save(marker, "jpeg")
    cached.write_bytes(marker.getvalue())
    again = slides.api.get(f"/api/slides/{slide_id}/thumbnail", params={"max_size": 200})
    assert again.content == marker.getvalue()
    cached.unlink()

    small = slides.api.get(f"/api/slides/{slide_id}/thumbnail", params={"max_size": 64})
    assert Image.open(io.BytesIO(small.content)).size == (64, 48)


@pytest.mark.parametrize("max_size", [0, -5, 5000, "big"])
def test_thumbnail_size_out_of_range_is_400(
    slides: SlidesPlatform, svs_slide: dict, max_size
) -> None:
    response = slides.api.get(
        f"/api/slides/{svs_slide['id']}/thumbnail", params={"max_size": max_size}
    )
    assert_error(response, 400, "INVALID_PARAMETERS")


def test_scale_bar(slides: SlidesPlatform, svs_slide: dict) -> None:
    url = f"/api/slides/{svs_slide['id']}/scale-bar"
    assert slides.api.get(url).json() == {
        "target_um": 100.0,
        "pixels_at_level": 400.0,
        "level": 0,
        "mpp": 0.25,
        "mpp_assumed": False,
    }
    body = slides.api.get(url, params={"target_um": 50, "level": 1}).json()
    assert body == {
        "target_um": 50.0,
        "pixels_at_level": 100.0,
        "level": 1,
        "mpp": 0.25,
        "mpp_assumed": False,
    }
    assert_error(slides.api.get(url, params={"level": 9}), 400, "INVALID_PARAMETERS")
    assert_error(slides.api.get(url, params={"target_um": 0}), 400, "INVALID_PARAMETERS")


def test_scale_bar_of_a_slide_without_mpp_uses_the_assumed_one(
    slides: SlidesPlatform, generic_tiff: Path
):
    slide = slides.upload_ok(generic_tiff)
    response = slides.api.get(f"/api/slides/{slide['id']}/scale-bar")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "target_um": 100.0,
        "pixels_at_level": 400.0,
        "level": 0,
        "mpp": 0.25,
        "mpp_assumed": True,
    }


def test_properties_and_associated_images(slides: SlidesPlatform, svs_slide: dict) -> None:
    slide_id = svs_slide["id"]
    body = slides.api.get(f"/api/slides/{slide_id}/properties").json()
    assert body["properties"]["openslide.vendor"] == "aperio"
    assert body["properties"]["aperio.AppMag"] == "40"
    assert body["associated_images"] == ["label", "macro", "thumbnail"]

    label = slides.api.get(f"/api/slides/{slide_id}/associated/label")
    assert label.status_code == 200 and label.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(label.content)).size == (300, 120)
    small = slides.api.get(f"/api/slides/{slide_id}/associated/macro", params={"max_size": 150})
    assert Image.open(io.BytesIO(small.content)).size == (150, 60)
    assert_error(slides.api.get(f"/api/slides/{slide_id}/associated/barcode"), 404)


# Unknown and malformed ids -------------------------------------------------------------

SLIDE_PATHS = ["", "/dzi", "/dzi_files/0/0_0.jpeg", "/thumbnail", "/scale-bar", "/properties"]


@pytest.mark.parametrize("suffix", SLIDE_PATHS)
def test_unknown_slide_is_404(slides: SlidesPlatform, suffix: str) -> None:
    assert_error(slides.api.get(f"/api/slides/{uuid.uuid4()}{suffix}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("suffix", SLIDE_PATHS)
def test_malformed_slide_id_is_400(slides: SlidesPlatform, suffix: str) -> None:
    assert_error(slides.api.get(f"/api/slides/not-a-uuid{suffix}"), 400, "INVALID_PARAMETERS")


def test_delete_unknown_or_malformed(slides: SlidesPlatform) -> None:
    assert_error(slides.api.delete(f"/api/slides/{uuid.uuid4()}"), 404, "NOT_FOUND")
    assert_error(slides.api.delete("/api/slides/not-a-uuid"), 400, "INVALID_PARAMETERS")


# Deleting -------------------------------------------------------------------------------


def test_delete_removes_file_caches_and_row(slides: SlidesPlatform, aperio_svs: Path) -> None:
    slide_id = slides.upload_ok(aperio_svs, "doomed.svs")["id"]
    assert slides.api.get(f"/api/slides/{slide_id}/dzi_files/11/1_1.jpeg").status_code == 200
    for size in (200, 64):
        response = slides.api.get(f"/api/slides/{slide_id}/thumbnail", params={"max_size": size})
        assert response.status_code == 200
    thumbnails = sorted((slides.slides_dir / ".thumbnails").glob(f"{slide_id}_*.jpg"))
    assert len(thumbnails) == 2

    response = slides.api.delete(f"/api/slides/{slide_id}")
    assert response.status_code == 204 and response.content == b""

    assert not (slides.slides_dir / f"{slide_id}.svs").exists()
    assert not any(path.exists() for path in thumbnails)
    assert_error(slides.api.get(f"/api/slides/{slide_id}"), 404)
    assert slide_id not in {slide["id"] for slide in slides.api.get("/api/slides/").json()}
    # The tile came from the memory cache before; now it is gone too.
    assert_error(slides.api.get(f"/api/slides/{slide_id}/dzi_files/11/1_1.jpeg"), 404)
    assert_error(slides.api.get(f"/api/slides/{slide_id}/thumbnail"), 404)
    assert_error(slides.api.delete(f"/api/slides/{slide_id}"), 404)


def test_delete_waits_for_the_spatial_service(platform, slides: SlidesPlatform, aperio_svs: Path):
    """Analyses go first: with the spatial service down nothing is deleted (503)."""
    slide_id = slides.upload_ok(aperio_svs, "keep.svs")["id"]
    platform.stop_service("spatial")
    try:
        body = assert_error(slides.api.delete(f"/api/slides/{slide_id}"), 503)
        # In the user's terms at the source: no gRPC text, no internal address.
        assert body["error"] == (
            f"Slide {slide_id} was not deleted: the spatial service, which must delete "
            "its analyses first, is unavailable; try again later"
        )
        assert body["details"] == {"service": "spatial", "slide_id": slide_id}
        assert slides.api.get(f"/api/slides/{slide_id}").status_code == 200
        assert (slides.slides_dir / f"{slide_id}.svs").exists()
    finally:
        platform.start_service("spatial")
    # The channel reconnects within its backoff (at most 2 s).
    deadline = time.monotonic() + 10
    while (status := slides.api.delete(f"/api/slides/{slide_id}").status_code) == 503:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status == 204
    assert not (slides.slides_dir / f"{slide_id}.svs").exists()


def test_the_edge_keeps_tiles_it_served(platform, slides: SlidesPlatform, svs_slide: dict):
    """A tile asked for again costs no backend call: it is served with the slides
    service stopped. A tile never asked for needs the service (503)."""
    base = f"/api/slides/{svs_slide['id']}/dzi_files/11"
    first = slides.api.get(f"{base}/0_1.jpeg")
    assert first.status_code == 200
    platform.stop_service("slides")
    try:
        again = slides.api.get(f"{base}/0_1.jpeg")
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["cache-control"] == IMAGE_CACHE
        assert_error(slides.api.get(f"{base}/1_0.jpeg"), 503)
    finally:
        platform.start_service("slides")
    # The edge reconnects within its backoff (at most 2 s); later tests need it.
    deadline = time.monotonic() + 10
    while slides.api.get("/api/slides/").status_code != 200:
        assert time.monotonic() < deadline, "the edge did not reconnect to slides"
        time.sleep(0.1)


# MCP -------------------------------------------------------------------------------


def test_mcp_lists_slides(platform, svs_slide: dict) -> None:
    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            return await client.call_tool("list_slides", {})

    result = asyncio.run(session())
    assert not result.is_error
    listed = {slide["id"]: slide for slide in json.loads(result.content[0].text)["slides"]}
    assert listed[svs_slide["id"]] == svs_slide
