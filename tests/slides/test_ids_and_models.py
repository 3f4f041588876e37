"""Slide ids are parsed strictly; records carry the proto messages' field names."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from common.errors import InvalidArgument
from services.slides.core import (
    DeepZoomDescriptor,
    RegionHeader,
    ScaleBar,
    SlideLevel,
    SlideRecord,
    Thumbnail,
    new_slide_id,
    parse_slide_id,
)
from services.slides.core.models import EncodedImage, SlideProperties


def test_new_ids_are_canonical_random_uuids() -> None:
    first, second = new_slide_id(), new_slide_id()
    assert first != second
    assert parse_slide_id(first) == first == str(uuid.UUID(first))


def test_upper_case_ids_are_canonicalised() -> None:
    slide_id = new_slide_id()
    assert parse_slide_id(slide_id.upper()) == slide_id


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-a-uuid",
        "../etc/passwd",
        "{12345678-1234-5678-1234-567812345678}",
        "12345678123456781234567812345678",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
    ],
)
def test_anything_but_a_canonical_uuid_is_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="not a UUID"):
        parse_slide_id(bad)


slides_pb2 = pytest.importorskip("micrographia.slides.v1.slides_pb2")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (SlideRecord, "Slide"),
        (SlideLevel, "SlideLevel"),
        (DeepZoomDescriptor, "GetDeepZoomDescriptorResponse"),
        (EncodedImage, "GetDeepZoomTileResponse"),
        (Thumbnail, "GetThumbnailResponse"),
        (ScaleBar, "GetScaleBarResponse"),
        (RegionHeader, "RegionHeader"),
        (SlideProperties, "GetSlidePropertiesResponse"),
    ],
)
def test_records_fill_their_proto_message_by_name(record: type, message: str) -> None:
    proto_fields = {field.name for field in getattr(slides_pb2, message).DESCRIPTOR.fields}
    record_fields = {field.name for field in dataclasses.fields(record)}
    # Made when the message is: the registry keeps what the file says (no mpp
    # when it has none) and `slide_message` says whether the mpp is assumed.
    derived = {"mpp_assumed"} if record is SlideRecord else set()
    assert proto_fields - derived <= record_fields, proto_fields - derived - record_fields
