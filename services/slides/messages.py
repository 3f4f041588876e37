"""The slides core's records as slides.proto messages.

The core's dataclasses name their fields as the messages do, so most responses
are built straight from `dataclasses.asdict`; only nested records need a hand.
"""

from __future__ import annotations

from dataclasses import asdict

from micrographia.slides.v1 import slides_pb2 as pb
from services.slides.core import ASSUMED_MPP, RegionHeader, SlideRecord, pixel_size


def slide_message(record: SlideRecord, assumed_mpp: float = ASSUMED_MPP) -> pb.Slide:
    """A registry record as a Slide (its stored path stays inside the service).

    The registry keeps what the file says (no mpp when it records none); the
    message always carries one, assumed when the file has none, so no client
    meets a null pixel size (Slidekick's front end calls `mpp.toFixed`)."""
    mpp, assumed = pixel_size(record.mpp, assumed_mpp)
    return pb.Slide(
        id=record.id,
        filename=record.filename,
        mpp=mpp,
        mpp_y=record.mpp_y if record.mpp_y is not None else mpp,
        mpp_assumed=assumed,
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
