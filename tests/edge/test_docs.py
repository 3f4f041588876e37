"""/docs and /redoc work offline, and the OpenAPI document tells the truth
about error responses."""

from __future__ import annotations

import json
import re
import time

import httpx
import jsonschema
import numpy as np
import pytest
from fastapi.routing import APIRoute

from edge.app import create_app
from edge.fields import RequestModel
from edge.openapi import PydanticJSONResponse
from services.spatial.core import Bounds, SpatialStore
from tests.analysis.synthetic import maturation_traces, tidy_frame, write_csv
from tests.microscopy.test_workflow_api import call_tools
from tests.microscopy.test_workflow_merge import write_traces
from tests.microscopy.workflow_movies import write_cell_movie
from tests.slides.conftest import APERIO_MPP, write_aperio_svs
from tests.spatial.conftest import synthetic_nuclei


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_the_internet(edge, page):
    response = edge.get(page)
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets, response.text
    for asset in assets:
        assert not asset.startswith(("http:", "https:", "//")), asset
        served = edge.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000


@pytest.fixture(scope="module")
def schema() -> dict:
    return create_app().openapi()


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_pyama_bad_requests_are_documented_as_400_not_422(schema):
    checked = 0
    for path, _method, operation in _operations(schema):
        if path.startswith(("/api/processing", "/api/analysis")):
            responses = operation["responses"]
            assert "422" not in responses, path
            error = responses["400"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}, path
            checked += 1
    assert checked >= 15
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_error_responses_use_the_error_body(schema):
    body = schema["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) >= {"error", "error_code", "details", "detail"}
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        if operation.get("parameters") or operation.get("requestBody"):
            assert "400" in responses, path  # validation errors, on both APIs
        if path.startswith("/api/"):
            assert {"503", "504"} <= set(responses), path
        if method in ("post", "delete"):
            assert "403" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, path
    upload = schema["paths"]["/api/slides/upload"]["post"]["responses"]
    assert {"201", "413", "422"} <= set(upload)


def _documented_body(
    schema: dict, method: str, path: str, status: str = "200", media: str = "application/json"
) -> dict:
    response = schema["paths"][path][method]["responses"][status]
    return _closed(_with_refs(schema, response["content"][media]["schema"]))


def _closed(node):
    """A copy of a schema in which every object lists all its fields, so a field
    the edge sends but the document leaves out fails validation too."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


def test_no_body_is_documented_as_a_free_form_object(schema):
    """Every JSON answer documents its fields and every image is a binary body,
    so /docs shows real bodies and generated clients get types."""
    components = schema["components"]["schemas"]
    checked = 0
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, content in response.get("content", {}).items():
                body = content.get("schema", {})
                body = components.get(body.get("$ref", "").rsplit("/", 1)[-1], body)
                where = f"{method} {path} {status} {media_type}"
                if media_type.startswith("image/"):
                    assert body.get("format") == "binary", where
                elif media_type in ("application/json", "application/geo+json"):
                    assert body.get("properties") or body.get("items"), where
                    checked += 1
    assert checked >= 32


def test_bodies_match_their_documented_schemas(edge, schema, shared_data, data_root, tmp_path):
    """What /openapi.json says of a body is what the edge sends (generated clients
    read these), checked on real answers."""
    nd2 = str(shared_data / "nd2" / "cluster.nd2")
    folder = data_root / "documented"
    folder.mkdir(exist_ok=True)
    (folder / "notes.txt").write_text("hello")
    (folder / "broken.czi").write_bytes(b"not a czi at all" * 64)
    search = {"search_path": str(shared_data), "pattern": "*.nd2", "limit": 2}
    calls = [
        ("get", "/api/processing/features", None),
        ("post", "/api/processing/list-directory", {"directory_path": str(shared_data / "nd2")}),
        ("post", "/api/processing/load-metadata", {"file_path": nd2}),
        ("get", "/api/processing/recent-files", None),
        ("post", "/api/processing/search-files", search),
        ("post", "/api/processing/file-info", {"file_path": nd2}),
        ("post", "/api/processing/file-info", {"file_path": str(folder / "notes.txt")}),
        ("post", "/api/processing/file-info", {"file_path": str(folder / "broken.czi")}),
        ("post", "/api/processing/file-info", {"file_path": str(folder)}),
        ("get", "/health", None),
        ("get", "/metrics", None),
        ("get", "/jobs", None),
        ("get", "/livez", None),
    ]
    for method, path, body in calls:
        response = edge.request(method.upper(), path, json=body)
        assert response.status_code == 200, (path, response.text)
        jsonschema.validate(response.json(), _documented_body(schema, method, path))

    slide_file = write_aperio_svs(tmp_path / "documented.svs", 600, 400)
    with slide_file.open("rb") as file:
        uploaded = edge.post("/api/slides/upload", files={"file": ("documented.svs", file)})
    jsonschema.validate(
        uploaded.json(), _documented_body(schema, "post", "/api/slides/upload", "201")
    )
    slide_id = uploaded.json()["id"]
    for path in ("/api/slides/", "/api/slides/{slide_id}", "/api/slides/{slide_id}/properties"):
        response = edge.get(path.format(slide_id=slide_id))
        jsonschema.validate(response.json(), _documented_body(schema, "get", path))
    scale = edge.get(f"/api/slides/{slide_id}/scale-bar")
    jsonschema.validate(
        scale.json(), _documented_body(schema, "get", "/api/slides/{slide_id}/scale-bar")
    )
    assert edge.delete(f"/api/slides/{slide_id}").status_code == 204

    missing = edge.post("/api/processing/load-metadata", json={"file_path": "no/such.nd2"})
    error_schema = _with_refs(schema, schema["components"]["schemas"]["ErrorBody"])
    jsonschema.validate(missing.json(), _closed(error_schema))


def _matches(schema: dict, response, method: str, path: str, status: str = "200") -> dict:
    """The body of a real answer, after checking it against what `path` documents."""
    assert response.status_code == int(status), (path, response.text)
    media = response.headers["content-type"].split(";")[0]
    body = response.json()
    jsonschema.validate(body, _documented_body(schema, method, path, status, media))
    return body


def _events_match(
    schema: dict, edge, method: str, path: str, body: dict | None = None, **values
) -> list[tuple]:
    """The (event, data) of a real SSE stream, each checked against the schema the
    document gives its event's data."""
    content = schema["paths"][path][method]["responses"]["200"]["content"]
    documented = {
        item["properties"]["event"]["const"]: item["properties"]["data"]["contentSchema"]
        for item in content["text/event-stream"]["itemSchema"]["oneOf"]
    }
    events = []
    with edge.stream(method.upper(), path.format(**values), json=body) as stream:
        assert stream.status_code == 200, path
        name = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                jsonschema.validate(data, _closed(_with_refs(schema, documented[name])))
                events.append((name, data))
    assert events, path
    return events


def _until(edge, path: str, done) -> dict:
    """Poll a job status route until `done(data)` (the job's own timeouts bound it)."""
    for _ in range(600):
        data = edge.get(path).json()["data"]
        if done(data):
            return data
        time.sleep(0.1)
    raise AssertionError(f"{path} never got there: {data}")


def test_workflow_and_merge_bodies_match_their_documented_schemas(
    platform, edge, schema, data_root
):
    folder = data_root / "documented-workflow"
    movie = write_cell_movie(folder / "cells.ome.tif", n_fovs=1, n_frames=3)
    start = {
        "microscopy_path": str(movie),
        "output_dir": str(folder / "out"),
        "channels": {
            "phase": {"channel": 0, "features": ["area"]},
            "fluorescence": [{"channel": 1, "features": ["intensity_total"]}],
        },
        "parameters": {"min_frames": 2, "border_margin": 0},
    }
    base = "/api/processing/workflow"
    started = edge.post(f"{base}/start", json=start)
    job_id = _matches(schema, started, "post", f"{base}/start")["data"]["job_id"]
    events = _events_match(schema, edge, "get", f"{base}/events/{{job_id}}", job_id=job_id)
    assert events[-1][0] == "progress" and events[-1][1]["status"] == "completed"
    status = f"{base}/status/{{job_id}}"
    done = _matches(schema, edge.get(status.format(job_id=job_id)), "get", status)
    assert done["data"]["progress"]["steps_completed"]
    results = f"{base}/results/{{job_id}}"
    body = _matches(schema, edge.get(results.format(job_id=job_id)), "get", results)
    assert body["data"]["stats"]["total_frames"] == 3
    jobs = f"{base}/jobs"
    finished = _matches(schema, edge.get(jobs, params={"status": "completed"}), "get", jobs)
    assert job_id in [job["job_id"] for job in finished["data"]["jobs"]]

    # The workbench over the job's traces: cells, one cell, a mark, the cell at a pixel.
    traces = body["data"]["traces"][0]
    cells = "/api/processing/cells"
    listed = _matches(schema, edge.get(cells, params={"traces_path": traces}), "get", cells)
    first = listed["data"]["cells"][0]
    where = {"traces_path": traces, "fov": first.get("fov", 0), "cell": first.get("cell", 0)}
    _matches(schema, edge.get(f"{cells}/detail", params=where), "get", f"{cells}/detail")
    mark = {"traces_path": traces, "cells": [{**where, "good": False}][:1]}
    mark["cells"][0].pop("traces_path")
    marked = edge.post(f"{cells}/quality", json=mark)
    assert _matches(schema, marked, "post", f"{cells}/quality")["data"]["cells_changed"] == 1
    at = {"traces_path": traces, "t": 0, "x": 0, "y": 0}
    _matches(schema, edge.get(f"{cells}/at", params=at), "get", f"{cells}/at")

    # A simulated job, seen running (step, ETA) and then cancelled.
    (created,) = call_tools(platform, ("create_processing_task", {"file_path": "x", "fake": True}))
    fake_id = json.loads(created.content[0].text)["id"]
    running = _until(
        edge, status.format(job_id=fake_id), lambda data: data["progress"]["total_fovs"]
    )
    assert running["progress"]["current_step"] == "copying"
    _matches(schema, edge.get(status.format(job_id=fake_id)), "get", status)
    cancel = f"{base}/cancel/{{job_id}}"
    cancelled = _matches(schema, edge.post(cancel.format(job_id=fake_id)), "post", cancel)
    assert cancelled["data"]["job_id"] == fake_id

    for fov in (0, 1):
        write_traces(folder / "traces", fov)
    (folder / "samples.yaml").write_text("samples:\n  - {name: control, fovs: '0-1'}\n")
    merge = {
        "sample_yaml": str(folder / "samples.yaml"),
        "input_dir": str(folder / "traces"),
        "output_dir": str(folder / "merged"),
    }
    merged = _matches(
        schema, edge.post("/api/processing/merge", json=merge), "post", "/api/processing/merge"
    )
    assert merged["data"]["stats"]["samples_processed"] == 1
    samples = "/api/processing/samples"
    save = {
        "sample_yaml": str(folder / "saved.yaml"),
        "samples": [{"name": "control", "fovs": "0-1"}],
        "input_dir": str(folder / "traces"),
        "merge_output_dir": str(folder / "merged-again"),
    }
    _matches(schema, edge.post(samples, json=save), "post", samples)
    read = {"sample_yaml": str(folder / "saved.yaml"), "input_dir": str(folder / "traces")}
    _matches(schema, edge.get(samples, params=read), "get", samples)


def test_analysis_bodies_match_their_documented_schemas(edge, schema, data_root):
    base = "/api/analysis"
    models = _matches(schema, edge.get(f"{base}/models"), "get", f"{base}/models")
    assert "maturation" in {model["name"] for model in models["data"]}
    _, values = maturation_traces(12, seed=5)
    values[3, 2:] = float("nan")  # one failed fit: two points for three parameters
    csv_path = str(write_csv(tidy_frame(values, n_fovs=2), data_root / "documented-fits.csv"))
    loaded = edge.post(f"{base}/load-traces", json={"csv_path": csv_path})
    assert _matches(schema, loaded, "post", f"{base}/load-traces")["data"]["n_cells"] == 12

    started = edge.post(
        f"{base}/fitting/start", json={"csv_path": csv_path, "model_type": "maturation"}
    )
    job_id = _matches(schema, started, "post", f"{base}/fitting/start")["data"]["job_id"]
    events = _events_match(schema, edge, "get", f"{base}/fitting/events/{{job_id}}", job_id=job_id)
    assert events[-1][1]["status"] == "completed"
    status = f"{base}/fitting/status/{{job_id}}"
    done = _matches(schema, edge.get(status.format(job_id=job_id)), "get", status)
    assert done["data"]["progress"]["failed_fits"] == 1
    results = f"{base}/fitting/results/{{job_id}}"
    body = _matches(schema, edge.get(results.format(job_id=job_id)), "get", results)
    assert body["data"]["summary"]["total_cells"] == 12
    fitted = f"{base}/fitting/cells"
    table = _matches(schema, edge.get(fitted, params={"job_ids": [job_id]}), "get", fitted)
    assert table["data"]["total_cells"] == 12  # the failed fit included, its parameters null

    # Cancelled at once: a job of many cells is still pending or running.
    _, many = maturation_traces(3000, seed=6)
    long_csv = str(write_csv(tidy_frame(many), data_root / "documented-many.csv"))
    started = edge.post(
        f"{base}/fitting/start", json={"csv_path": long_csv, "model_type": "maturation"}
    )
    cancel = f"{base}/fitting/cancel/{{job_id}}"
    long_id = started.json()["data"]["job_id"]
    cancelled = _matches(schema, edge.post(cancel.format(job_id=long_id)), "post", cancel)
    assert cancelled["data"]["status"] in {"cancelling", "cancelled"}


def test_spatial_bodies_match_their_documented_schemas(platform, edge, schema, tmp_path):
    slide_file = write_aperio_svs(tmp_path / "documented-spatial.svs", 600, 400)
    with slide_file.open("rb") as file:
        uploaded = edge.post("/api/slides/upload", files={"file": ("spatial.svs", file)})
    slide_id = uploaded.json()["id"]
    # An analysis stored as the spatial service stores one (no inference needed).
    store = SpatialStore(platform.runners["spatial"].service.pool)
    bounds = Bounds(0, 0, 300, 200)
    nuclei = synthetic_nuclei(np.random.default_rng(3), bounds, 40)
    box = platform.loop.run(store.insert_box(slide_id, bounds, APERIO_MPP, nuclei))

    region = {"slide_id": slide_id, "x_min": 0, "y_min": 0, "x_max": 600, "y_max": 400}
    stats = _matches(schema, edge.post("/api/roi/stats", json=region), "post", "/api/roi/stats")
    assert stats["total_nuclei"] == 40
    viewport = {"slide_id": slide_id, "x": 0, "y": 0, "width": 600, "height": 400}
    found = _matches(schema, edge.post("/api/roi/nuclei", json=viewport), "post", "/api/roi/nuclei")
    assert len(found["nuclei"]) == 40
    boxes = "/api/boxes/{slide_id}"
    listed = _matches(schema, edge.get(boxes.format(slide_id=slide_id)), "get", boxes)
    assert [item["id"] for item in listed["boxes"]] == [str(box.id)]
    detail = "/api/boxes/detail/{box_id}"
    shown = _matches(schema, edge.get(detail.format(box_id=box.id)), "get", detail)
    assert shown["total_nuclei"] == 40
    exported = "/api/boxes/{box_id}/geojson"
    features = _matches(schema, edge.get(exported.format(box_id=box.id)), "get", exported)
    assert len(features["features"]) == 40
    in_roi = _matches(
        schema, edge.post("/api/roi/geojson", json=region), "post", "/api/roi/geojson"
    )
    assert len(in_roi["features"]) == 40
    assert edge.delete(f"/api/slides/{slide_id}").status_code == 204


@pytest.mark.slow
def test_viewport_events_match_their_documented_schemas(platform, schema, tmp_path):
    """Through the real inference service (HoVerNet, random weights)."""
    slide_file = write_aperio_svs(tmp_path / "documented-viewport.svs", 600, 400)
    with httpx.Client(base_url=platform.base_url, timeout=600) as edge:
        with slide_file.open("rb") as file:
            uploaded = edge.post("/api/slides/upload", files={"file": ("viewport.svs", file)})
        slide_id = uploaded.json()["id"]
        viewport = {"slide_id": slide_id, "x": 0, "y": 0, "width": 64, "height": 64}
        path = "/api/inference/viewport-stream"
        events = _events_match(schema, edge, "post", path, viewport)
        assert [name for name, _ in events][-1] == "complete"
        assert edge.delete(f"/api/slides/{slide_id}").status_code == 204


def _with_refs(schema: dict, target: dict) -> dict:
    """`target` with the document's components, so its #/components refs resolve."""
    return {**target, "components": schema["components"]}


def _integers(node, where: str, components: dict, seen: set[str]):
    """(where, schema) of every integer schema inside `node`, following $refs."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            yield where, node
        ref = node.get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if ref and name not in seen:
            seen.add(name)
            yield from _integers(components[name], name, components, seen)
        for key, value in node.items():
            yield from _integers(value, f"{where}.{key}", components, seen)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _integers(value, f"{where}[{index}]", components, seen)


def test_every_integer_a_request_carries_is_bounded(schema):
    """Each integer a route reads ends up in a proto field: a route added without
    `Int32`/`Int64` would answer 500 for 2**31 (issue 7)."""
    components = schema["components"]["schemas"]
    inputs = []
    for path, method, operation in _operations(schema):
        name = f"{method} {path}"
        inputs += [(f"{name} {p['name']}", p["schema"]) for p in operation.get("parameters", [])]
        inputs.append((f"{name} body", operation.get("requestBody", {})))
    unbounded = [
        where
        for name, node in inputs
        for where, integer in _integers(node, name, components, set())
        if "maximum" not in integer or "minimum" not in integer
    ]
    assert not unbounded, unbounded


def _api_routes(routes):
    """Every APIRoute of the app, also those of included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def test_every_json_body_refuses_text_no_proto_can_carry():
    bodies = [
        route.body_field.field_info.annotation
        for route in _api_routes(create_app().routes)
        if route.body_field is not None
    ]
    assert len(bodies) >= 8
    for body in bodies:
        assert issubclass(body, RequestModel), body


def test_documented_bodies_are_written_as_their_dict_models_wrote_them():
    """Routes documented with `json_body`/`proto_body` keep the bytes their `dict`
    return type gave them (pydantic's serializer): NaN is null, not a 500."""
    body = {"nan": float("nan"), "small": 1e-05, "unit": "µm"}
    written = PydanticJSONResponse(body).body
    assert written == '{"nan":null,"small":0.00001,"unit":"µm"}'.encode()
