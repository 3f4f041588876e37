"""Pixels at the model's resolution: read the best level, resample, pad.

The slide is read through a `LevelReader` (the slides service in production,
an array in tests). What lies outside the slide becomes white and is marked
invalid, so no nucleus can grow out of padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import Rect, Resolution

# level, x, y, width, height (level-0 pixels, inside the slide) -> rows x columns x 3
# uint8 RGB at that level, its first pixel at level-0 (x, y).
LevelReader = Callable[[int, int, int, int, int], np.ndarray]

PAD_VALUE = 255


@dataclass(frozen=True)
class ModelPixels:
    """RGB pixels of a model-space rectangle and which of them lie on the slide."""

    rect: Rect
    rgb: np.ndarray  # rows x columns x 3 uint8
    valid: np.ndarray  # rows x columns bool


def _valid_axis(start: int, count: int, scale: float, extent: int) -> np.ndarray:
    centres = (np.arange(start, start + count) + 0.5) * scale
    return (centres >= 0) & (centres < extent)


def read_model_pixels(
    read: LevelReader,
    slide_size: tuple[int, int],
    resolution: Resolution,
    rect: Rect,
) -> ModelPixels:
    """Pixels of the integer model-space `rect`, resampled from `resolution.level`."""
    x0, y0 = int(rect.x0), int(rect.y0)
    columns, rows = int(rect.width), int(rect.height)
    width, height = slide_size
    valid_x = _valid_axis(x0, columns, resolution.scale, width)
    valid_y = _valid_axis(y0, rows, resolution.scale, height)
    rgb = np.full((rows, columns, 3), PAD_VALUE, np.uint8)
    valid = valid_y[:, None] & valid_x[None, :]
    if not valid_x.any() or not valid_y.any():
        return ModelPixels(rect, rgb, valid)
    s, d = resolution.scale, resolution.level_downsample
    # Level-0 span of the valid model pixels, one level pixel of slack for interpolation.
    cx = np.flatnonzero(valid_x)
    cy = np.flatnonzero(valid_y)
    left = max(0, math.floor(((x0 + cx[0]) * s) / d - 1) * d)
    top = max(0, math.floor(((y0 + cy[0]) * s) / d - 1) * d)
    right = min(width, math.ceil(((x0 + cx[-1] + 1) * s) / d + 1) * d)
    bottom = min(height, math.ceil(((y0 + cy[-1] + 1) * s) / d + 1) * d)
    left, top = round(left), round(top)
    source = read(resolution.level, left, top, int(right) - left, int(bottom) - top)
    ratio = s / d
    # Output pixel j has its centre at level index (j + x0 + 0.5) * ratio - left / d - 0.5.
    tx = (x0 + 0.5) * ratio - left / d - 0.5
    ty = (y0 + 0.5) * ratio - top / d - 0.5
    if abs(ratio - 1) < 1e-6 and abs(tx - round(tx)) < 1e-6 and abs(ty - round(ty)) < 1e-6:
        out = _shifted(source, round(tx), round(ty), rows, columns)
    else:
        matrix = np.array([[ratio, 0.0, tx], [0.0, ratio, ty]], dtype=np.float64)
        out = cv2.warpAffine(
            source,
            matrix,
            (columns, rows),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
    rgb[valid] = out[valid]
    return ModelPixels(rect, rgb, valid)


def _shifted(source: np.ndarray, dx: int, dy: int, rows: int, columns: int) -> np.ndarray:
    """source[dy + j, dx + i] for the output grid, white where the source has nothing."""
    out = np.full((rows, columns, 3), PAD_VALUE, np.uint8)
    sy0, sx0 = max(dy, 0), max(dx, 0)
    sy1, sx1 = min(dy + rows, source.shape[0]), min(dx + columns, source.shape[1])
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - dy : sy1 - dy, sx0 - dx : sx1 - dx] = source[sy0:sy1, sx0:sx1]
    return out
