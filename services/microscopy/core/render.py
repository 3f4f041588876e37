"""Frames as 8-bit PNGs for people: automatic contrast, optional downscale."""

from __future__ import annotations

import io
import math
from typing import NamedTuple

import numpy as np
from PIL import Image

from common.errors import InvalidArgument

DEFAULT_LOW_PERCENTILE = 0.5
DEFAULT_HIGH_PERCENTILE = 99.5
# zlib level 1: previews are made on request, and speed matters more than ~20% of size.
_PNG_COMPRESS_LEVEL = 1


class RenderedFrame(NamedTuple):
    """A rendered PNG; fields map 1:1 to the proto's RenderFrameResponse."""

    png: bytes
    width: int
    height: int
    display_min: float  # raw value shown as black
    display_max: float  # raw value shown as white


def _validate(frame: np.ndarray, low: float, high: float, max_size: int) -> None:
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high <= 100):
        raise InvalidArgument(
            f"percentiles must satisfy 0 <= low < high <= 100, got low={low} high={high}",
            low_percentile=low,
            high_percentile=high,
        )
    if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer) or max_size < 0:
        raise InvalidArgument(f"max_size must be an integer >= 0, got {max_size!r}")
    is_gray = frame.ndim == 2
    is_colour = frame.ndim == 3 and frame.shape[2] in (3, 4)
    if not (is_gray or is_colour) or frame.size == 0:
        raise InvalidArgument(
            f"a frame must be (H, W) or (H, W, 3|4) and not empty, got shape {frame.shape}"
        )
    if frame.dtype.kind not in "biuf":
        raise InvalidArgument(f"cannot render pixels of type {frame.dtype}")


def contrast_limits(pixels: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """The `low` and `high` percentiles of the finite pixel values (0, 0 when none are)."""
    values = pixels
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 0.0
    lo, hi = np.percentile(values, [low, high])
    return float(lo), float(hi)


def stretch_to_uint8(pixels: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map [lo, hi] linearly onto 0..255, clipping outside; NaN and a constant frame give 0."""
    if not hi > lo:
        return np.zeros(pixels.shape, np.uint8)
    scaled = (pixels.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    np.clip(scaled, 0, 255, out=scaled)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    return np.rint(scaled).astype(np.uint8)


def render_png(
    frame: np.ndarray,
    low_percentile: float = DEFAULT_LOW_PERCENTILE,
    high_percentile: float = DEFAULT_HIGH_PERCENTILE,
    max_size: int = 0,
) -> RenderedFrame:
    """Contrast-stretch `frame` to 8 bits and encode it as PNG.

    The `low_percentile`..`high_percentile` range of the pixel values maps to
    0..255 (RGB frames share one range, keeping their colour balance; an alpha
    channel is dropped). With `max_size` > 0 the image is shrunk, never enlarged,
    so that its longest edge is `max_size`. Raises InvalidArgument for bad
    parameters or a frame that is not (H, W) / (H, W, 3|4) numbers.
    """
    pixels = np.asarray(frame)
    _validate(pixels, low_percentile, high_percentile, max_size)
    if pixels.dtype.kind == "b":
        pixels = pixels.astype(np.uint8)
    if pixels.ndim == 3:
        pixels = pixels[:, :, :3]
    lo, hi = contrast_limits(pixels, low_percentile, high_percentile)
    image = Image.fromarray(stretch_to_uint8(pixels, lo, hi))
    height, width = pixels.shape[:2]
    if max_size and max(height, width) > max_size:
        scale = max_size / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return RenderedFrame(buffer.getvalue(), image.width, image.height, lo, hi)
