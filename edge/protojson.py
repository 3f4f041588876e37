"""Protobuf messages as the JSON the documented APIs show.

Unlike `json_format.MessageToDict`, this keeps 64-bit integers as numbers,
writes timestamps as RFC 3339 UTC ("2024-01-15T10:30:00Z"), enums as their
lower-case short name ("running", not "JOB_STATUS_RUNNING"), and an unset
`optional` field or message as null, so responses keep the documented shapes.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp


def timestamp_to_json(value: Timestamp) -> str:
    moment = value.ToDatetime(tzinfo=UTC)
    text = moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def enum_to_json(descriptor: EnumDescriptor, number: int) -> str:
    """JOB_STATUS_RUNNING -> "running" (the enum's common prefix dropped)."""
    name = descriptor.values_by_number[number].name if number in descriptor.values_by_number else ""
    prefix = descriptor.values[0].name.removesuffix("UNSPECIFIED")
    return name.removeprefix(prefix).lower()


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return enum_to_json(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return to_json(value)
    return value


def _in_real_oneof(field: FieldDescriptor) -> bool:
    """True for a member of a declared oneof; a proto3 `optional` field sits alone
    in a synthetic oneof named "_<field>", and an unset one still shows as null."""
    oneof = field.containing_oneof
    if oneof is None:
        return False
    return not (len(oneof.fields) == 1 and oneof.name == f"_{field.name}")


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def to_json(message: Message) -> Any:
    """A message as a JSON-ready dict (a Timestamp as a string)."""
    if isinstance(message, Timestamp):
        return timestamp_to_json(message)
    result: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            result[field.name] = {key: _scalar(value_field, item) for key, item in value.items()}
        elif field.is_repeated:
            result[field.name] = [_scalar(field, item) for item in value]
        elif field.has_presence and not message.HasField(field.name):
            # Unset optional scalar, unset message, or the inactive side of a oneof.
            if not _in_real_oneof(field):
                result[field.name] = None
        else:
            result[field.name] = _scalar(field, value)
    return result


# ---------------------------------------------------------------- JSON Schema

_JSON_TYPES = {
    FieldDescriptor.TYPE_DOUBLE: "number",
    FieldDescriptor.TYPE_FLOAT: "number",
    FieldDescriptor.TYPE_BOOL: "boolean",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "string",
}


def _scalar_schema(field: FieldDescriptor) -> dict[str, Any]:
    if field.type == FieldDescriptor.TYPE_ENUM:
        names = [enum_to_json(field.enum_type, value.number) for value in field.enum_type.values]
        return {"type": "string", "enum": names}
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return json_schema(field.message_type)
    return {"type": _JSON_TYPES.get(field.type, "integer")}


def json_schema(descriptor: Any) -> dict[str, Any]:
    """The JSON Schema of `to_json(message)` for messages of `descriptor`, read
    from the same rules, so the documented body is the body sent."""
    if descriptor.full_name == Timestamp.DESCRIPTOR.full_name:
        return {"type": "string", "format": "date-time"}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in descriptor.fields:
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            schema = {"type": "object", "additionalProperties": _scalar_schema(value_field)}
        elif field.is_repeated:
            schema = {"type": "array", "items": _scalar_schema(field)}
        elif field.has_presence:
            schema = {"anyOf": [_scalar_schema(field), {"type": "null"}]}
        else:
            schema = _scalar_schema(field)
        properties[field.name] = schema
        if not _in_real_oneof(field):
            required.append(field.name)
    return {
        "title": descriptor.name,
        "type": "object",
        "properties": properties,
        "required": required,
    }
