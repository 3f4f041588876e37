"""Slide identifiers: random UUIDs, always in canonical lower-case form.

An id ends up in file names (stored slides, thumbnails), so it is parsed
strictly before it gets anywhere near a path.
"""

from __future__ import annotations

import uuid

from common.errors import InvalidArgument


def new_slide_id() -> str:
    """A fresh random slide id."""
    return str(uuid.uuid4())


def parse_slide_id(value: str) -> str:
    """The canonical form of `value`; InvalidArgument unless it is a UUID."""
    try:
        parsed = uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(f"slide_id {value!r} is not a UUID", slide_id=value) from None
    canonical = str(parsed)
    # uuid.UUID also accepts braces, "urn:uuid:" and missing hyphens; only the
    # canonical spelling may reach a file name.
    if str(value).lower() != canonical:
        raise InvalidArgument(f"slide_id {value!r} is not a UUID", slide_id=value)
    return canonical
