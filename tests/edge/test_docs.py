"""/docs and /redoc work offline, and the OpenAPI document tells the truth
about error responses."""

from __future__ import annotations

import re

import jsonschema
import pytest
from fastapi.routing import APIRoute

from edge.app import create_app
from edge.errors import SLIDEKICK_PREFIXES
from edge.fields import RequestModel
from tests.slides.conftest import write_aperio_svs


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
        if path.startswith(SLIDEKICK_PREFIXES) and (
            operation.get("parameters") or operation.get("requestBody")
        ):
            assert "422" in responses, path  # Slidekick's validation errors
        if path.startswith("/api/"):
            assert {"503", "504"} <= set(responses), path
        if method in ("post", "delete"):
            assert "403" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, path
    upload = schema["paths"]["/api/slides/upload"]["post"]["responses"]
    assert {"201", "413", "422"} <= set(upload)


def _documented_body(schema: dict, method: str, path: str, status: str = "200") -> dict:
    response = schema["paths"][path][method]["responses"][status]
    return _closed(_with_refs(schema, response["content"]["application/json"]["schema"]))


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


# Routes whose JSON bodies other branches are rewriting (workflow, merge, analysis,
# spatial); they adopt `json_body`/`proto_body` or response models when merged.
BEING_REWRITTEN = (
    "/api/processing/workflow",
    "/api/processing/merge",
    "/api/analysis",
    "/api/inference",
    "/api/roi",
    "/api/boxes",
)


def test_no_body_is_documented_as_a_free_form_object(schema):
    """Every JSON answer documents its fields and every image is a binary body,
    so /docs shows real bodies and generated clients get types."""
    components = schema["components"]["schemas"]
    checked = 0
    for path, method, operation in _operations(schema):
        if path.startswith(BEING_REWRITTEN):
            continue
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, content in response.get("content", {}).items():
                body = content.get("schema", {})
                body = components.get(body.get("$ref", "").rsplit("/", 1)[-1], body)
                where = f"{method} {path} {status} {media_type}"
                if media_type.startswith("image/"):
                    assert body.get("format") == "binary", where
                elif media_type == "application/json":
                    assert body.get("properties") or body.get("items"), where
                    checked += 1
    assert checked >= 14


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
