"""Opening slides and reading what they say about themselves."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import openslide
from PIL import Image

from common.errors import UNPROCESSABLE_SLIDE, InvalidArgument, NotFound

from .images import encode_jpeg, flatten_alpha
from .models import EncodedImage, SlideFacts, SlideLevel, SlideProperties

ASSOCIATED_IMAGE_QUALITY = 90


def open_slide(path: str | Path) -> openslide.OpenSlide:
    """An OpenSlide handle; InvalidArgument(UNPROCESSABLE_SLIDE) with OpenSlide's reason.

    Uses `OpenSlide` itself rather than `openslide.open_slide`, which would
    silently fall back to PIL for plain images: only real slides are accepted.
    """
    try:
        return openslide.OpenSlide(str(path))
    except openslide.OpenSlideUnsupportedFormatError as error:
        reason = str(error) or "unsupported or missing image file"
        raise InvalidArgument(
            f"OpenSlide cannot open {Path(path).name}: {reason}",
            code=UNPROCESSABLE_SLIDE,
            reason=reason,
        ) from None
    except (openslide.OpenSlideError, OSError) as error:
        raise InvalidArgument(
            f"OpenSlide cannot read {Path(path).name}: {error}",
            code=UNPROCESSABLE_SLIDE,
            reason=str(error),
        ) from None


def _positive_float(properties: Mapping[str, str], name: str) -> float | None:
    """A property as a positive finite float, or None when absent or nonsense."""
    raw = properties.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def read_facts(slide: openslide.AbstractSlide) -> SlideFacts:
    """Vendor, size, pyramid, mpp and objective power of an open slide.

    mpp is None when `openslide.mpp-x` is absent: no default is invented, since
    a wrong scale silently corrupts every measured area and density.
    """
    properties = slide.properties
    width, height = slide.dimensions
    levels = tuple(
        SlideLevel(width=w, height=h, downsample=float(d))
        for (w, h), d in zip(slide.level_dimensions, slide.level_downsamples, strict=True)
    )
    return SlideFacts(
        vendor=properties.get(openslide.PROPERTY_NAME_VENDOR) or "unknown",
        width_px=width,
        height_px=height,
        level_count=slide.level_count,
        levels=levels,
        mpp=_positive_float(properties, openslide.PROPERTY_NAME_MPP_X),
        mpp_y=_positive_float(properties, openslide.PROPERTY_NAME_MPP_Y),
        objective_power=_positive_float(properties, openslide.PROPERTY_NAME_OBJECTIVE_POWER),
    )


def read_properties(slide: openslide.AbstractSlide) -> SlideProperties:
    """Every OpenSlide property and the names of the associated images."""
    return SlideProperties(
        properties=dict(slide.properties),
        associated_images=tuple(sorted(slide.associated_images)),
    )


def associated_image(
    slide: openslide.AbstractSlide,
    name: str,
    max_size: int = 0,
    quality: int = ASSOCIATED_IMAGE_QUALITY,
) -> EncodedImage:
    """An associated image (label, macro, thumbnail) as JPEG; NotFound for an unknown name.

    `max_size` > 0 shrinks the longest edge to at most that many pixels
    (never enlarges); 0 keeps the stored size.
    """
    if max_size < 0:
        raise InvalidArgument(f"max_size must be >= 0, got {max_size}", max_size=max_size)
    images = slide.associated_images
    if name not in images:
        available = ", ".join(sorted(images)) or "none"
        raise NotFound(
            f"slide has no associated image {name!r} (available: {available})", name=name
        )
    image = flatten_alpha(images[name])
    if max_size:
        image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    return EncodedImage(image=encode_jpeg(image, quality), content_type="image/jpeg")
