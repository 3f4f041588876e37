"""PyAMA's success envelope: {"success": true, "data": ..., "message": ...}.

Routes build it with `ok(...)` and declare `response_model=Envelope[Data]`
(with `response_model_exclude_unset=True`, so the keys are those `ok` wrote) to
document the body in OpenAPI. Every envelope carries a `message`, as the spec's
general format shows it: the route's own words, else the spec's
"Operation completed successfully".
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

Data = TypeVar("Data")

# The spec's general success format says this where a route has nothing better.
DEFAULT_MESSAGE = "Operation completed successfully"


class Envelope(BaseModel, Generic[Data]):
    success: bool = Field(True, description="Always true (failures carry the error body)")
    data: Data
    message: str = Field(DEFAULT_MESSAGE, description="A short human-readable note")


def ok(data: Any = None, message: str | None = None) -> dict[str, Any]:
    return {"success": True, "data": data, "message": message or DEFAULT_MESSAGE}
