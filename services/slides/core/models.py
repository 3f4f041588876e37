"""Plain records the slides core returns.

Field names match the messages of protos/micrographia/slides/v1/slides.proto,
so the gRPC servicer copies them across by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SlideLevel:
    """One level of a slide's pyramid (proto SlideLevel)."""

    width: int
    height: int
    downsample: float


@dataclass(frozen=True)
class SlideFacts:
    """What OpenSlide says about an open slide."""

    vendor: str
    width_px: int
    height_px: int
    level_count: int
    levels: tuple[SlideLevel, ...]
    # Microns per pixel at level 0; None when the file does not say.
    mpp: float | None
    mpp_y: float | None
    objective_power: float | None


@dataclass(frozen=True)
class SlideRecord:
    """A stored slide (proto Slide, plus where its file lives).

    `created_at` is None until the registry has stored the record.
    """

    id: str
    filename: str
    stored_path: str
    size_bytes: int
    vendor: str
    width_px: int
    height_px: int
    level_count: int
    mpp: float | None = None
    mpp_y: float | None = None
    objective_power: float | None = None
    levels: tuple[SlideLevel, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class SlideProperties:
    """Vendor properties and associated image names (proto GetSlidePropertiesResponse)."""

    properties: dict[str, str] = field(default_factory=dict)
    associated_images: tuple[str, ...] = ()


@dataclass(frozen=True)
class EncodedImage:
    """Encoded image bytes and their MIME type (tiles, associated images)."""

    image: bytes
    content_type: str = "image/jpeg"
