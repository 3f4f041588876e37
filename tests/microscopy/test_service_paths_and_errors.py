"""Paths outside the data roots, missing, unsupported, corrupt and truncated files,
through the real edge: the documented status and code, a clear reason, promptly."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.microscopy.conftest import ARCADIA_TIMELAPSE, CZI_TIMELAPSE, OME_TIMELAPSE
from tests.microscopy.edge_api import error_of

# Every route that takes a path, with the body (or query) naming it.
PATH_ROUTES = [
    ("post", "load-metadata", "file_path"),
    ("post", "file-info", "file_path"),
    ("post", "list-directory", "directory_path"),
    ("post", "search-files", "search_path"),
    ("get", "frame", "file_path"),
]


def call(edge, method: str, route: str, field: str, path: str):
    url = f"/api/processing/{route}"
    if method == "get":
        return edge.get(url, params={field: path})
    return edge.post(url, json={field: path})


def forbidden_body(response, path: str) -> dict:
    body = error_of(response, 403, "FORBIDDEN")
    assert body["details"].get("path") == path  # the caller's own words, nothing more
    return {key: value for key, value in body.items() if key != "details"}


@pytest.mark.parametrize(("method", "route", "field"), PATH_ROUTES)
def test_outside_the_roots_is_forbidden_whether_or_not_it_exists(
    edge, data_root: Path, method: str, route: str, field: str
) -> None:
    existing = forbidden_body(call(edge, method, route, field, "/etc/passwd"), "/etc/passwd")
    missing = forbidden_body(call(edge, method, route, field, "/nonexistent/x"), "/nonexistent/x")
    assert existing == missing  # nothing tells the two apart
    traversal = f"{data_root}/../../../../etc/passwd"
    assert forbidden_body(call(edge, method, route, field, traversal), traversal) == existing
    relative = "../../../../etc"
    assert forbidden_body(call(edge, method, route, field, relative), relative) == existing


def test_symlink_out_of_a_root_is_forbidden(edge, data_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.ome.tif"
    outside.write_bytes(b"II*\x00" + bytes(64))
    (data_root / "links").mkdir(exist_ok=True)
    link = data_root / "links" / "escape.ome.tif"
    link.symlink_to(outside)
    folder_link = data_root / "links" / "escape-folder"
    folder_link.symlink_to(tmp_path, target_is_directory=True)
    for method, route, field in PATH_ROUTES:
        error_of(call(edge, method, route, field, str(link)), 403, "FORBIDDEN")
        error_of(call(edge, method, route, field, str(folder_link)), 403, "FORBIDDEN")
    # and the explorer does not show the link either
    listing = edge.post(
        "/api/processing/list-directory", json={"directory_path": str(data_root / "links")}
    )
    assert listing.json()["data"]["items"] == []


def test_missing_file_inside_a_root_is_404(edge, data_root: Path) -> None:
    missing = str(data_root / "no-such-file.nd2")
    for method, route, field in PATH_ROUTES:
        body = error_of(call(edge, method, route, field, missing), 404, "FILE_NOT_FOUND")
        assert "no-such-file.nd2" in body["error"]


def test_unsupported_file_is_400_naming_the_type(edge, data_root: Path) -> None:
    picture = data_root / "errors" / "picture.png"
    picture.parent.mkdir(exist_ok=True)
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for route in ("load-metadata", "frame"):
        method = "get" if route == "frame" else "post"
        body = error_of(
            call(edge, method, route, "file_path", str(picture)), 400, "INVALID_PARAMETERS"
        )
        assert "unsupported file type '.png'" in body["error"]


def test_a_named_pipe_is_400_and_blocks_no_one(edge, real_file, data_root: Path) -> None:
    # A FIFO used to hold a worker thread forever per request; nine of them blocked
    # every microscopy route. Now each is refused at once, and the service stays free.
    pipe = data_root / "errors" / "f.tif"
    pipe.parent.mkdir(exist_ok=True)
    os.mkfifo(pipe)
    calls = [("post", "load-metadata"), ("get", "frame")] * 8
    with ThreadPoolExecutor(len(calls)) as pool:
        responses = list(pool.map(lambda call_: call(edge, *call_, "file_path", str(pipe)), calls))
    for response in responses:
        body = error_of(response, 400, "INVALID_PARAMETERS")
        assert "not a regular file" in body["error"] and "f.tif" in body["error"]
    info = edge.post("/api/processing/file-info", json={"file_path": str(pipe)})
    assert info.status_code == 200, info.text  # facts of the entry; nothing is opened
    timelapse = str(real_file(OME_TIMELAPSE))
    metadata = edge.post("/api/processing/load-metadata", json={"file_path": timelapse})
    assert metadata.status_code == 200, metadata.text


@pytest.mark.parametrize("name", ["garbage.nd2", "garbage.czi", "garbage.tif"])
def test_corrupt_file_is_400_naming_the_reason(edge, data_root: Path, name: str) -> None:
    corrupt = data_root / "errors" / name
    corrupt.parent.mkdir(exist_ok=True)
    corrupt.write_bytes(b"\x00\x01garbage" * 100)
    response = edge.post("/api/processing/load-metadata", json={"file_path": str(corrupt)})
    body = error_of(response, 400, "INVALID_PARAMETERS")
    assert name in body["error"] and "not a valid" in body["error"]


@pytest.mark.parametrize("relative", [ARCADIA_TIMELAPSE, CZI_TIMELAPSE, OME_TIMELAPSE])
def test_truncated_file_is_refused_promptly(edge, real_file, data_root: Path, relative) -> None:
    original = real_file(relative)
    truncated = data_root / "errors" / f"truncated-{original.name}"
    truncated.parent.mkdir(exist_ok=True)
    truncated.write_bytes(original.read_bytes()[: original.stat().st_size * 3 // 4])
    for method, route in [("post", "load-metadata"), ("get", "frame")]:
        started = time.monotonic()
        response = call(edge, method, route, "file_path", str(truncated))
        elapsed = time.monotonic() - started
        body = error_of(response, 400, "INVALID_PARAMETERS")
        assert truncated.name in body["error"]
        assert elapsed < 5, elapsed  # the edge's deadline is 30 s: this is no near-hang


def test_bad_frame_addresses_are_400(edge, real_file) -> None:
    path = str(real_file(ARCADIA_TIMELAPSE))  # T=53, one channel
    for params, words in [
        ({"t": 53}, "t index 53 is out of range: valid range is 0..52"),
        ({"channel": 1}, "c index 1 is out of range"),
        ({"fov": 2}, "fov index 2 is out of range"),
        ({"low_percentile": 60, "high_percentile": 40}, "percentiles"),
        ({"t": -1}, "t"),
        ({"max_size": "big"}, "max_size"),
    ]:
        response = edge.get("/api/processing/frame", params={"file_path": path, **params})
        assert words in error_of(response, 400, "INVALID_PARAMETERS")["error"]


def test_missing_or_empty_fields_are_400(edge) -> None:
    for route in ("load-metadata", "file-info"):
        for body in [{}, {"file_path": ""}]:
            response = edge.post(f"/api/processing/{route}", json=body)
            assert "file_path" in error_of(response, 400, "INVALID_PARAMETERS")["error"]
    response = edge.get("/api/processing/frame")
    assert "file_path" in error_of(response, 400, "INVALID_PARAMETERS")["error"]
