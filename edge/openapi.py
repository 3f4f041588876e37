"""The OpenAPI document tells the truth about errors.

FastAPI documents a 422 validation error for every operation with inputs; the
edge answers bad requests 400 INVALID_PARAMETERS on both APIs, and every failure
with the one error body of `edge.errors`. This adds, in one
place, the error responses each operation really gives, with that body's
schema, so generated clients read them:

- 400 (bad input, request validation included),
- 413 for uploads larger than allowed, 422 for an upload OpenSlide cannot open,
- 403 for state-changing operations (a foreign browser origin, a wrong API key),
- 404 where something named may not exist (path parameters, files, jobs),
- 503 / 504 where a backend service is called (it is down / did not answer).
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic_core
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from edge.errors import SLIDEKICK_PREFIXES
from edge.protojson import json_schema

BACKED_PREFIXES = ("/api/",)
# Routes that name things that may not exist without a path parameter: PyAMA's
# files and jobs, a slide named in a Slidekick body (ROI, viewport analysis).
NAMED_THING_PREFIXES = (
    "/api/processing/",
    "/api/analysis/",
    "/api/roi/",
    "/api/inference/",
    "/api/slide-analysis/",
)
STATE_CHANGING = {"post", "put", "patch", "delete"}


class ValidationProblem(BaseModel):
    loc: list[str | int] = Field(description='Where the problem is, e.g. ["body", "limit"]')
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error: PyAMA clients read `success`, `error`, `error_code` and
    `details`; Slidekick clients read `detail`."""

    success: bool = Field(False, description="Always false")
    error: str = Field(description="What went wrong, in the user's terms")
    error_code: str = Field(description="A documented error code, e.g. FILE_NOT_FOUND")
    details: dict[str, Any] = Field(description="Small facts: a path, a limit, the service")
    detail: str | list[ValidationProblem] = Field(
        description="The message again (Slidekick), or the validation problems of a 400"
    )


class ErrorEvent(ErrorBody):
    """The data of an SSE stream's `error` event: its last, after a failure."""

    type: Literal["error"] = Field(description="What clients dispatch on (`data.type`)")
    message: str = Field(description="What went wrong, in the user's terms (as `error`)")


_REF = {"$ref": "#/components/schemas/ErrorBody"}
_EVENT_REF = {"$ref": "#/components/schemas/ErrorEvent"}


def _response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _REF}}}


def _errors_of(path: str, method: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    has_input = bool(operation.get("parameters") or operation.get("requestBody"))
    slidekick = path.startswith(SLIDEKICK_PREFIXES)
    answers: dict[str, dict[str, Any]] = {}
    if has_input or path.startswith(BACKED_PREFIXES):
        answers["400"] = _response("Invalid request (error_code INVALID_PARAMETERS and others)")
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        answers["413"] = _response("The upload is larger than allowed (PAYLOAD_TOO_LARGE)")
        if slidekick:
            answers["422"] = _response("OpenSlide cannot open the file (UNPROCESSABLE_SLIDE)")
    if method in STATE_CHANGING:
        answers["403"] = _response("Refused: a foreign browser origin or a wrong API key")
    if "{" in path or path.startswith(NAMED_THING_PREFIXES):
        answers["404"] = _response("Not found (NOT_FOUND, FILE_NOT_FOUND, JOB_NOT_FOUND)")
    if path.startswith(BACKED_PREFIXES):
        answers["503"] = _response("A backend service is unavailable (SERVICE_UNAVAILABLE)")
        answers["504"] = _response("A backend service did not answer in time")
    return answers


class PydanticJSONResponse(JSONResponse):
    """JSON written by pydantic's serializer, as FastAPI writes a response model
    (NaN and infinities as null, 1e-05 as 0.00001): a route documented with
    `json_body`/`proto_body` (`response_model=None`) whose body used to be written
    through its `dict` return type keeps its bytes, and a NaN never fails it."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content, inf_nan_mode="null")


def json_body(
    schema: dict[str, Any], *, status: int = 200, many: bool = False, enveloped: bool = False
) -> dict[int, dict[str, Any]]:
    """`responses=` for a route whose JSON body is described by `schema` (a list
    of them with `many`, in PyAMA's success envelope with `enveloped`). It
    documents the body without re-validating it, so the body stays as sent."""
    if many:
        schema = {"type": "array", "items": schema}
    if enveloped:
        schema = {
            "title": f"{schema.get('title', 'Result')}Envelope",
            "type": "object",
            "properties": {
                "success": {"type": "boolean", "const": True},
                "data": schema,
                "message": {"type": "string"},
            },
            "required": ["success", "data", "message"],
        }
    return {status: {"content": {"application/json": {"schema": schema}}}}


def proto_body(
    message_class: Any, *, status: int = 200, many: bool = False, enveloped: bool = False
) -> dict[int, dict[str, Any]]:
    """`json_body` for a body that is `to_json` of a `message_class`."""
    schema = json_schema(message_class.DESCRIPTOR)
    return json_body(schema, status=status, many=many, enveloped=enveloped)


def binary_body(media_type: str) -> dict[int, dict[str, Any]]:
    """`responses=` for a route that answers 200 with bytes (an image), so
    generated clients read the body as a file rather than as JSON."""
    schema = {"type": "string", "format": "binary"}
    return {200: {"content": {media_type: {"schema": schema}}}}


def sse_body(events: dict[str, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """`responses=` for an SSE route: each event's name and the schema of its JSON
    `data` (OpenAPI 3.2's `itemSchema`); a failure after the stream began is an
    `error` event carrying the error body with `type` and `message` (ErrorEvent)."""
    items = [
        {
            "title": f"{name.capitalize()}Event",
            "type": "object",
            "properties": {
                "event": {"const": name},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": data,
                },
            },
            "required": ["event", "data"],
        }
        for name, data in {**events, "error": _EVENT_REF}.items()
    ]
    return {200: {"content": {"text/event-stream": {"itemSchema": {"oneOf": items}}}}}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with each operation's real error responses (FastAPI's 422 replaced)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(body.pop("$defs", {}))
    components["ErrorBody"] = body
    event = ErrorEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    event.pop("$defs", None)
    components["ErrorEvent"] = event
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, response in _errors_of(path, method, operation).items():
                responses.setdefault(status, response)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve `document_errors` of FastAPI's own document at /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
