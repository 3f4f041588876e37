"""Request field types that fit the protos they are sent in.

A value the proto cannot carry (an integer past its field's range, a string
with a lone surrogate, which is not UTF-8) must be refused where the request
is read, naming the field, not found later as a 500 when the request message
is built. Every route model and parameter uses these:

- `Int32` / `Int64`: an integer within the range of the proto field it fills
  (`int32`, `int64`). Out of that range (`unsendable`), the edge answers 400
  INVALID_PARAMETERS, or 404 NOT_FOUND in a path (a tile column that no
  pyramid can have does not exist), see `edge.errors`.
- `RequestModel`: the base of every JSON body; its strings, also inside lists
  and dicts, must be encodable as UTF-8 (error type `unicode_surrogate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field, GetJsonSchemaHandler, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

UNICODE_SURROGATE = "unicode_surrogate"


INT_BOUNDS = {bits: (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for bits in (32, 64)}


@dataclass(frozen=True)
class _OpenApiFormat:
    """Adds OpenAPI's `format` (it tells generated clients, and schemathesis, the range)."""

    name: str

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(core_schema), "format": self.name}


def _proto_int(bits: int) -> Any:
    # Plain ge/le: a route's own tighter bound (Query(ge=0, le=8192)) replaces them.
    low, high = INT_BOUNDS[bits]
    return Annotated[int, Field(ge=low, le=high), _OpenApiFormat(f"int{bits}")]


Int32 = _proto_int(32)
Int64 = _proto_int(64)


_BOUND_KINDS = {"less_than_equal": "le", "greater_than_equal": "ge"}


def unsendable(problem: dict[str, Any]) -> bool:
    """Whether a validation problem is a value no proto field can carry: an
    integer past its type's range, or text with a lone surrogate."""
    if problem.get("type") == UNICODE_SURROGATE:
        return True
    bound = (problem.get("ctx") or {}).get(
        {"less_than_equal": "le", "greater_than_equal": "ge"}.get(problem.get("type"), "")
    )
    return any(bound in pair for pair in INT_BOUNDS.values())


def _encodable(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            raise PydanticCustomError(
                UNICODE_SURROGATE, "Input should be valid Unicode text (it holds a lone surrogate)"
            ) from None
    elif isinstance(value, list | tuple | set):
        for item in value:
            _encodable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _encodable(key)
            _encodable(item)


class RequestModel(BaseModel):
    """A JSON request body whose every string can be sent in a proto."""

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_unicode(cls, value: Any) -> Any:
        _encodable(value)
        return value
