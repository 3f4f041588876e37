"""Request field types that fit the protos they are sent in.

A value the proto cannot carry (an integer past its field's range, a string
with a lone surrogate, which is not UTF-8) must be refused where the request
is read, naming the field, not found later as a 500 when the request message
is built. Every route model and parameter uses these:

- `Int32` / `Int64`: an integer within the range of the proto field it fills
  (`int32`, `int64`). Out of range is error type `proto_int_range`; the edge
  answers it 400 INVALID_PARAMETERS, or 404 NOT_FOUND in a path (a tile column
  that no pyramid can have does not exist), see `edge.errors`.
- `RequestModel`: the base of every JSON body; its strings, also inside lists
  and dicts, must be encodable as UTF-8 (error type `unicode_surrogate`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, field_validator
from pydantic_core import PydanticCustomError

PROTO_INT_RANGE = "proto_int_range"
UNICODE_SURROGATE = "unicode_surrogate"


def _within(bits: int):
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def check(value: int) -> int:
        if not low <= value <= high:
            raise PydanticCustomError(
                PROTO_INT_RANGE,
                "Input should be between {low} and {high}",
                {"low": low, "high": high},
            )
        return value

    return AfterValidator(check)


Int32 = Annotated[int, _within(32)]
Int64 = Annotated[int, _within(64)]


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
