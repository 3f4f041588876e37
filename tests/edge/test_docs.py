"""/docs and /redoc work offline, and the OpenAPI document tells the truth
about error responses."""

from __future__ import annotations

import re

import pytest

from edge.app import create_app
from edge.errors import SLIDEKICK_PREFIXES


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
