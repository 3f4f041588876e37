"""A finished run's segmentation outlines and track ids drawn over a frame.

So a person or an assistant sees what was segmented and tracked before trusting
the numbers. The tracking step's labels (`FovPaths.labels`: (T, H, W) int32,
0 = background, else track id + 1) give both the outlines and the ids; only
frame `t` of them is read (a memory map), never the whole movie.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage.segmentation import find_boundaries

from common.errors import FailedPrecondition, InvalidArgument
from services.microscopy.core.render import RenderedFrame, contrast_limits, stretch_to_uint8

# Distinct, saturated colours that read on grey; a track keeps its colour in every frame.
_PALETTE = np.array(
    [
        [255, 225, 25],
        [60, 180, 75],
        [230, 25, 75],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
    ],
    dtype=np.uint8,
)


def read_labels(path: Path, t: int) -> np.ndarray:
    """Frame `t` of a tracking labels file; FAILED_PRECONDITION when it is not there."""
    if not path.is_file():
        raise FailedPrecondition(
            f"no tracking labels at {path}: the FOV was not tracked by this run", path=path
        )
    stack = np.load(path, mmap_mode="r")
    if not 0 <= t < stack.shape[0]:
        raise InvalidArgument(f"frame {t} is outside the run's {stack.shape[0]} frames", t=t)
    return np.array(stack[t])


def render_overlay(
    frame: np.ndarray,
    labels: np.ndarray,
    low_percentile: float,
    high_percentile: float,
    max_size: int = 0,
) -> RenderedFrame:
    """`frame` contrast-stretched to grey, each cell's outline in its track's colour and
    its track id at its mask centroid, as a PNG (shrunk to `max_size` when > 0)."""
    if labels.shape != frame.shape[:2]:
        raise InvalidArgument(
            f"labels {labels.shape} and frame {frame.shape[:2]} differ in shape: the run "
            "was made from another file"
        )
    lo, hi = contrast_limits(frame, low_percentile, high_percentile)
    grey = Image.fromarray(stretch_to_uint8(frame, lo, hi))
    height, width = labels.shape
    scale = 1.0
    if max_size and max(height, width) > max_size:
        # Shrink first, then draw: outlines and ids stay crisp at the size shown.
        scale = max_size / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey = grey.resize(size, Image.Resampling.LANCZOS)
        labels = np.asarray(
            Image.fromarray(labels.astype(np.int32)).resize(size, Image.Resampling.NEAREST)
        )
    rgb = np.repeat(np.asarray(grey)[:, :, None], 3, axis=2)
    edges = find_boundaries(labels, mode="thick") & (labels > 0)
    rgb[edges] = _PALETTE[(labels[edges] - 1) % len(_PALETTE)]
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(10, min(24, round(14 * scale + 4))))
    values = np.unique(labels[labels > 0])
    if values.size:
        centres = ndimage.center_of_mass(np.ones_like(labels), labels, values)
        for value, (y, x) in zip(values, centres, strict=True):
            colour = tuple(int(c) for c in _PALETTE[(value - 1) % len(_PALETTE)])
            draw.text(
                (x, y),
                str(int(value) - 1),
                fill=colour,
                font=font,
                anchor="mm",
                stroke_width=2,
                stroke_fill=(0, 0, 0),
            )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return RenderedFrame(buffer.getvalue(), image.width, image.height, lo, hi)
