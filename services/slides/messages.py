"""The slides core's records as slides.proto messages.

The core's dataclasses name their fields as the messages do, so most responses
are built straight from `dataclasses.asdict`; only nested records need a hand.
"""

from __future__ import annotations

from dataclasses import asdict

from micrographia.slides.v1 import slides_pb2 as pb
from services.slides.core import RegionHeader, SlideRecord


def slide_message(record: SlideRecord) -> pb.Slide:
    """A registry record as a Slide (its stored path stays inside the service)."""
    return pb.Slide(
        id=record.id,
        filename=record.filename,
        mpp=record.mpp,
        mpp_y=record.mpp_y,
        width_px=record.width_px,
        height_px=record.height_px,
        created_at=record.created_at,
        vendor=record.vendor,
        objective_power=record.objective_power,
        level_count=record.level_count,
        levels=[pb.SlideLevel(**asdict(level)) for level in record.levels],
        size_bytes=record.size_bytes,
    )


def region_header_message(header: RegionHeader) -> pb.RegionHeader:
    return pb.RegionHeader(**asdict(header))
