"""PyAMA's success envelope: {"success": true, "data": ..., "message": ...}.

Routes build it with `ok(...)` and declare `response_model=Envelope[Data]`
(with `response_model_exclude_unset=True`, so a body without a message has no
`message` key, as today) to document the body in OpenAPI.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

Data = TypeVar("Data")


class Envelope(BaseModel, Generic[Data]):
    success: bool = Field(True, description="Always true (failures carry the error body)")
    data: Data
    message: str | None = Field(None, description="A short human-readable note")


def ok(data: Any = None, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if message is not None:
        body["message"] = message
    return body
