"""Bad input anywhere is a 400 or 404 with the documented error body, never a
500, and the connection stays usable after it (issue 7, item 3)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from edge.settings import EdgeSettings
from tests.harness import free_port

TOO_BIG = 2**31  # one past the largest int32, the type of every integer the protos carry


@pytest.fixture
def client(edge: httpx.Client):
    """One keep-alive connection: every case is followed by a request on it."""
    yield edge
    assert edge.get("/livez").status_code == 200


def _error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error_code"] == code
    assert body["error"] == body["detail"] or isinstance(body["detail"], list)
    return body


def _post_raw_json(client: httpx.Client, url: str, text: str) -> httpx.Response:
    """A JSON body sent as written (a lone surrogate escape stays "\\ud800")."""
    return client.post(url, content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("field", ["max_depth", "limit"])
def test_search_integers_past_int32_are_400(client, field):
    body = {"search_path": ".", field: TOO_BIG}
    error = _error(
        client.post("/api/processing/search-files", json=body), 400, "INVALID_PARAMETERS"
    )
    assert field in error["error"]


@pytest.mark.parametrize("field", ["fov", "t", "channel", "z", "max_size"])
def test_frame_integers_past_int32_are_400(client, field):
    params = {"file_path": "x.nd2", field: 31701607935}
    error = _error(client.get("/api/processing/frame", params=params), 400, "INVALID_PARAMETERS")
    assert field in error["error"]


def test_workflow_integers_past_int32_are_400(client):
    body = {
        "microscopy_path": "x.nd2",
        "output_dir": "out",
        "channels": {"phase": {"channel": TOO_BIG}},
        "parameters": {"batch_size": TOO_BIG},
    }
    error = _error(
        client.post("/api/processing/workflow/start", json=body), 400, "INVALID_PARAMETERS"
    )
    assert "channels.phase.channel" in error["error"] and "batch_size" in error["error"]


def test_tile_coordinates_past_int32_are_404(client):
    url = f"/api/slides/{uuid.uuid4()}/dzi_files/2084428/1068628350224_6609171.jpeg"
    body = _error(client.get(url), 404, "NOT_FOUND")
    # A missing thing is not called an invalid request.
    assert body["error"].startswith("Not found: ") and "Invalid request" not in body["error"]


def test_scale_bar_level_past_int32_is_400(client):
    url = f"/api/slides/{uuid.uuid4()}/scale-bar"
    error = _error(client.get(url, params={"level": 148709298780165}), 400, "INVALID_PARAMETERS")
    assert "level" in error["error"]


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/processing/search-files", {"search_path": ".", "pattern": "\ud800"}, "pattern"),
        (
            "/api/processing/search-files",
            {"search_path": ".", "extensions": ["\udc00"]},
            "extensions",
        ),
        (
            "/api/processing/list-directory",
            {"directory_path": ".", "filter_extensions": [".tif", "\ud800"]},
            "filter_extensions",
        ),
        ("/api/processing/load-metadata", {"file_path": "a\ud800.nd2"}, "file_path"),
    ],
)
def test_lone_surrogates_are_400_naming_the_field(client, url, body, field):
    response = _post_raw_json(client, url, json.dumps(body))  # ASCII: "\ud800" escapes
    error = _error(response, 400, "INVALID_PARAMETERS")
    assert field in error["error"]


def test_multipart_boundary_over_256_characters_is_400(client):
    boundary = "b" * 300
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="x.svs"\r\n\r\n'
        f"data\r\n--{boundary}--\r\n"
    ).encode()
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    error = _error(
        client.post("/api/slides/upload", content=body, headers=headers), 400, "INVALID_PARAMETERS"
    )
    assert "boundary" in error["error"]


@pytest.mark.parametrize("length", [4_000, 20_000])
def test_very_long_paths_get_their_real_answer_with_a_bounded_message(client, length):
    """The message repeated the path into gRPC trailers past their 8 KiB limit:
    the answer was 429 RATE_LIMITED instead of the real one."""
    path = "/".join(["d" * 200] * (length // 201)) + "/missing.nd2"
    response = client.post("/api/processing/load-metadata", json={"file_path": path})
    body = _error(response, 404, "FILE_NOT_FOUND")
    assert len(body["error"].encode()) <= 512
    assert "…" in body["error"]


def test_json_bodies_over_the_limit_are_413_before_they_are_read(platform):
    """A declared length over the limit is refused at once; a chunked body (no
    length) when it passes the limit; a body within it gets its real answer."""
    limit = 4096
    settings = EdgeSettings(port=free_port(), max_json_body_bytes=limit)
    region = {"slide_id": str(uuid.uuid4()), "x_min": 0, "y_min": 0, "x_max": 10, "y_max": 10}
    padded = {**region, "padding": "x" * (2 * limit)}
    with platform.extra_edge(settings) as base_url, httpx.Client(base_url=base_url) as client:
        body = _error(client.post("/api/roi/stats", json=padded), 413, "PAYLOAD_TOO_LARGE")
        assert "4,096 bytes" in body["error"] and body["details"]["limit"] == limit

        def chunks():
            yield json.dumps(padded).encode()

        chunked = client.post(
            "/api/roi/stats", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in chunked.request.headers
        _error(chunked, 413, "PAYLOAD_TOO_LARGE")
        # No content type is parsed as JSON too, so it is limited too.
        unlabelled = client.post("/api/roi/stats", content=json.dumps(padded).encode())
        _error(unlabelled, 413, "PAYLOAD_TOO_LARGE")
        assert client.post("/api/roi/stats", json=region).status_code == 404
        assert client.get("/livez").status_code == 200


# A route's own bound on an integer holds as well as the proto's range (a
# `Field(ge=0)` on an Int32 used to be dropped, and negatives passed the edge).


def test_negative_channel_and_limit_are_400(client):
    body = {
        "microscopy_path": "x.nd2",
        "output_dir": "out",
        "channels": {"phase": {"channel": -1}},
    }
    error = _error(
        client.post("/api/processing/workflow/start", json=body), 400, "INVALID_PARAMETERS"
    )
    assert "channels.phase.channel" in error["error"]
    search = {"search_path": ".", "limit": -5}
    error = _error(
        client.post("/api/processing/search-files", json=search), 400, "INVALID_PARAMETERS"
    )
    assert "limit" in error["error"] and "greater than or equal to 0" in error["error"]


@pytest.mark.parametrize("path", ["/api/roi/nuclei", "/api/inference/viewport-stream"])
def test_a_negative_level_is_refused_at_the_edge(client, path):
    body = {"slide_id": str(uuid.uuid4()), "x": 0, "y": 0, "width": 10, "height": 10, "level": -3}
    response = client.post(path, json=body)
    # Refused by the edge's model (an unknown slide would be the service's 404).
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETERS"
    assert "level" in response.json()["error"]


def test_booleans_are_not_integers(client):
    slide_id = str(uuid.uuid4())
    body = {"slide_id": slide_id, "x": 0, "y": 0, "width": 10, "height": 10, "level": False}
    response = client.post("/api/roi/nuclei", json=body)
    assert response.status_code == 400, response.text
    assert "level" in response.text and "boolean" in response.text
