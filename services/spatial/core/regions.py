"""The regions of a whole-slide analysis: a grid of squares over the slide,
kept where the tissue mask has tissue.

Region (column i, row j) is the half-open level-0 square
[i * size, (i + 1) * size) x [j * size, (j + 1) * size), clamped to the slide, so
the kept regions never overlap and every level-0 pixel whose mask pixel is
tissue lies in exactly one of them. A mask pixel (c, r) of an m x n mask covers
level 0 [c * W / m, (c + 1) * W / m) x [r * H / n, (r + 1) * H / n); a region is
kept when any mask pixel it touches is tissue (erring towards analysing).
"""

from __future__ import annotations

import math

import numpy as np

from common.errors import InvalidArgument
from services.spatial.core.bounds import Bounds

# Bounds of a region's edge, level-0 pixels: smaller ones cost a call each for
# little tissue; larger ones hold a replica too long, and at 0.5 um/px (20x)
# 8192 is already the inference service's largest region at the model's
# 0.25 um/px (16384 px a side).
MIN_REGION_SIZE = 256
MAX_REGION_SIZE = 8192


def check_region_size(size: int) -> int:
    if not MIN_REGION_SIZE <= size <= MAX_REGION_SIZE:
        raise InvalidArgument(
            f"region_size must be between {MIN_REGION_SIZE} and {MAX_REGION_SIZE} level-0 "
            f"pixels, got {size}",
            region_size=size,
        )
    return size


def plan_regions(width: int, height: int, size: int, mask: np.ndarray) -> list[Bounds]:
    """Tissue regions of a `width` x `height` slide, row-major."""
    check_region_size(size)
    if width <= 0 or height <= 0:
        raise InvalidArgument(f"the slide has no pixels ({width} x {height})")
    rows, columns = mask.shape
    # Per grid column/row, the mask columns/rows it touches (half-open).
    sx, sy = width / columns, height / rows
    regions: list[Bounds] = []
    for y0 in range(0, height, size):
        y1 = min(y0 + size, height)
        r0, r1 = math.floor(y0 / sy), min(math.ceil(y1 / sy), rows)
        band = mask[r0:r1]
        for x0 in range(0, width, size):
            x1 = min(x0 + size, width)
            c0, c1 = math.floor(x0 / sx), min(math.ceil(x1 / sx), columns)
            if band[:, c0:c1].any():
                regions.append(Bounds(x0, y0, x1, y1))
    return regions


def region_area_mm2(regions: list[Bounds], mpp: float | None) -> float:
    """Level-0 area of `regions` in mm^2 (0 without a pixel size)."""
    return sum(region.area_mm2(mpp) for region in regions)
