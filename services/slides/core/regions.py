"""Region reads: RGB pixels of a level-0 rectangle, clamped to the slide.

A caller names a rectangle in level-0 pixels and a pyramid level to read it
from; the answer is that rectangle, clamped to the slide, as height x width x 3
uint8 RGB at the level's resolution. Large regions are read in row bands and
handed out as bounded byte chunks, so a whole-slide read never sits in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import openslide

from common.errors import InvalidArgument

from .images import flatten_alpha

CHANNELS = 3
DEFAULT_CHUNK_BYTES = 1024 * 1024
# Rows are read from OpenSlide in bands of about this many RGBA bytes: tall
# enough that each slide tile is decoded once per band (OpenSlide's own tile
# cache is small), small enough to bound memory.
DEFAULT_BAND_BYTES = 16 * 1024 * 1024
# The most pixels (at the level read) one request may ask for: 16384 x 16384.
DEFAULT_MAX_REGION_PIXELS = 16384 * 16384


@dataclass(frozen=True)
class RegionHeader:
    """What a region stream carries (proto RegionHeader).

    x, y: top-left after clamping, level-0 pixels. width, height: size of the
    returned pixels at `level`. mpp: level-0 microns per pixel, None if unknown.
    """

    x: int
    y: int
    width: int
    height: int
    level: int
    downsample: float
    channels: int
    mpp: float | None

    @property
    def nbytes(self) -> int:
        return self.width * self.height * self.channels


@dataclass
class RegionStream:
    """A checked region: its header, then its row-major RGB bytes in chunks.

    `chunks` reads lazily from the slide as it is iterated (blocking I/O: iterate
    it in a worker thread); the caller must keep the slide open until done.
    """

    header: RegionHeader
    chunks: Iterator[bytes]


def clamp_region(
    x: int, y: int, width: int, height: int, slide_width: int, slide_height: int
) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the part of a level-0 rectangle inside the slide.

    InvalidArgument when the rectangle has no positive size or misses the slide.
    """
    if width <= 0 or height <= 0:
        raise InvalidArgument(
            f"region width and height must be positive, got {width} x {height}",
            width=width,
            height=height,
        )
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + width, slide_width), min(y + height, slide_height)
    if right <= left or bottom <= top:
        raise InvalidArgument(
            f"region x={x} y={y} width={width} height={height} lies outside the slide "
            f"({slide_width} x {slide_height} pixels)",
            x=x,
            y=y,
            width=width,
            height=height,
        )
    return left, top, right - left, bottom - top


def plan_region(
    slide: openslide.AbstractSlide,
    x: int,
    y: int,
    width: int,
    height: int,
    level: int = 0,
    *,
    mpp: float | None = None,
    max_pixels: int = DEFAULT_MAX_REGION_PIXELS,
) -> RegionHeader:
    """Clamp and size a region read; raises InvalidArgument for anything wrong.

    A too-large region is InvalidArgument naming the limit, not
    ResourceExhausted: asking again will not help, asking for less will.
    """
    if not 0 <= level < slide.level_count:
        raise InvalidArgument(
            f"level {level} does not exist (levels 0..{slide.level_count - 1})", level=level
        )
    slide_width, slide_height = slide.dimensions
    x0, y0, w0, h0 = clamp_region(x, y, width, height, slide_width, slide_height)
    downsample = float(slide.level_downsamples[level])
    level_width, level_height = slide.level_dimensions[level]
    # Cover the whole level-0 rectangle, without running past the level's edge.
    out_width = max(1, min(math.ceil(w0 / downsample), level_width - int(x0 / downsample)))
    out_height = max(1, min(math.ceil(h0 / downsample), level_height - int(y0 / downsample)))
    if out_width * out_height > max_pixels:
        raise InvalidArgument(
            f"region of {out_width} x {out_height} pixels at level {level} exceeds the limit "
            f"of {max_pixels} pixels per read; read a smaller region or a coarser level",
            limit=max_pixels,
            requested=out_width * out_height,
        )
    return RegionHeader(
        x=x0,
        y=y0,
        width=out_width,
        height=out_height,
        level=level,
        downsample=downsample,
        channels=CHANNELS,
        mpp=mpp,
    )


def iter_bands(
    slide: openslide.AbstractSlide,
    header: RegionHeader,
    band_bytes: int = DEFAULT_BAND_BYTES,
) -> Iterator[np.ndarray]:
    """The region as consecutive row bands, each rows x width x 3 uint8 RGB.

    Each band is read at its own level-0 origin. For integer downsamples that
    origin is exact and the bands join into what a single read_region returns;
    for fractional ones (e.g. 2.0018) it is rounded to the nearest level-0
    pixel, a sub-pixel phase shift OpenSlide's resampling can show.
    """
    rows_per_band = max(1, band_bytes // (header.width * 4))
    for first_row in range(0, header.height, rows_per_band):
        rows = min(rows_per_band, header.height - first_row)
        band_y = header.y + round(first_row * header.downsample)
        rgba = slide.read_region((header.x, band_y), header.level, (header.width, rows))
        yield np.asarray(flatten_alpha(rgba))


def iter_chunks(
    slide: openslide.AbstractSlide,
    header: RegionHeader,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    band_bytes: int = DEFAULT_BAND_BYTES,
) -> Iterator[bytes]:
    """The region's row-major RGB bytes in chunks of at most `chunk_bytes`."""
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be >= 1, got {chunk_bytes}")
    for band in iter_bands(slide, header, band_bytes):
        view = memoryview(np.ascontiguousarray(band)).cast("B")
        for start in range(0, len(view), chunk_bytes):
            yield bytes(view[start : start + chunk_bytes])


def read_region_array(
    slide: openslide.AbstractSlide,
    x: int,
    y: int,
    width: int,
    height: int,
    level: int = 0,
    *,
    mpp: float | None = None,
    max_pixels: int = DEFAULT_MAX_REGION_PIXELS,
    band_bytes: int = DEFAULT_BAND_BYTES,
) -> tuple[RegionHeader, np.ndarray]:
    """The whole region in memory: its header and a height x width x 3 uint8 array."""
    header = plan_region(slide, x, y, width, height, level, mpp=mpp, max_pixels=max_pixels)
    pixels = np.empty((header.height, header.width, CHANNELS), dtype=np.uint8)
    row = 0
    for band in iter_bands(slide, header, band_bytes):
        pixels[row : row + band.shape[0]] = band
        row += band.shape[0]
    return header, pixels
