"""PyAMA's success envelope: {"success": true, "data": ..., "message": ...}."""

from __future__ import annotations

from typing import Any


def ok(data: Any = None, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if message is not None:
        body["message"] = message
    return body
