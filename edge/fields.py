"""Request field types that fit the protos they are sent in.

A value the proto cannot carry (an integer past its field's range, a string
with a lone surrogate, which is not UTF-8) must be refused where the request
is read, naming the field, not found later as a 500 when the request message
is built. Every route model and parameter uses these:

- `Int32` / `Int64`: an integer within the range of the proto field it fills
  (`int32`, `int64`), and within the field's own bounds where it has some
  (`Field(ge=0)`, `Query(ge=1, le=4096)`). Out of the proto's range
  (`unsendable`), the edge answers 400 INVALID_PARAMETERS, or 404 NOT_FOUND in
  a path (a tile column that no pyramid can have does not exist), see
  `edge.errors`.
- `RequestModel`: the base of every JSON body; its strings, also inside lists
  and dicts, must be encodable as UTF-8 (error type `unicode_surrogate`).
- `reworded`: a request model as another transport documents it (MCP's input
  models are REST's, in MCP's words): the same fields, types and defaults.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin

import annotated_types
from pydantic import (
    BaseModel,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

UNICODE_SURROGATE = "unicode_surrogate"


INT_BOUNDS = {bits: (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for bits in (32, 64)}


@dataclass(frozen=True)
class _ProtoInt:
    """An integer that fits a proto field of `bits` bits.

    The range goes into the integer's own schema only where the field has no
    bound of its own, so a route's `Field(ge=0)` or `Query(ge=0, le=8192)` is
    kept (as `Field(ge=...)` metadata on the type, pydantic let the type's
    bound win over the field's, and `level=-3` passed a `Field(0, ge=0)`).
    The JSON schema adds OpenAPI's `format`, which tells generated clients (and
    schemathesis) the range.
    """

    bits: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        low, high = INT_BOUNDS[self.bits]
        schema = handler(source)
        schema.setdefault("ge", low)
        schema.setdefault("le", high)
        return schema

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(core_schema), "format": f"int{self.bits}"}


Int32 = Annotated[int, _ProtoInt(32)]
Int64 = Annotated[int, _ProtoInt(64)]


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


def _numeric(annotation: Any) -> bool:
    """Whether a field holds numbers and not booleans (`int`, `float | None`, ...)."""
    if annotation is bool:
        return False
    if annotation in (int, float):
        return True
    arguments = get_args(annotation)
    if get_origin(annotation) is Annotated:
        return _numeric(arguments[0])
    return bool(arguments) and bool not in arguments and any(_numeric(a) for a in arguments)


class RequestModel(BaseModel):
    """A JSON request body whose every string can be sent in a proto, and whose
    numbers are numbers (JSON's true/false, which pydantic takes as 1/0, are not)."""

    @field_validator("*", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _numeric(field.annotation):
            raise PydanticCustomError("int_type", "Input should be a number, not a boolean")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_unicode(cls, value: Any) -> Any:
        _encodable(value)
        return value


Model = TypeVar("Model", bound=BaseModel)


def reworded(
    model: type[Model],
    name: str,
    doc: str,
    descriptions: dict[str, str],
    *,
    defaults: dict[str, Any] | None = None,
    bounds: bool = True,
) -> type[Model]:
    """A subclass of `model` named `name`: the same fields, types, defaults and
    checks (and so the same request built from it), documented in other words:
    `doc` for the model, `descriptions` by field. `defaults` makes those fields
    optional with these values. `bounds=False` leaves the fields' own bounds and
    lengths out (the proto's range stays), for a form that has always left them
    to the service."""
    fields: dict[str, Any] = {}
    for field_name, field in model.model_fields.items():
        info = copy.copy(field)
        info.description = descriptions.get(field_name, field.description)
        if not bounds:
            info.metadata = [
                item
                for item in field.metadata
                if not isinstance(item, annotated_types.BaseMetadata)
            ]
        if defaults and field_name in defaults:
            info.default = defaults[field_name]
        fields[field_name] = (field.annotation, info)
    caller = sys._getframe(1).f_globals["__name__"]  # the module that names the model
    return create_model(  # type: ignore[call-overload,no-any-return]
        name, __base__=model, __doc__=doc, __module__=caller, **fields
    )
