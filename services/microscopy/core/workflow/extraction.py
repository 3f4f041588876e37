"""Extraction (pyama-reference.md, step 5): per cell and frame, features on the mask.

All cells of a frame are measured at once with `np.bincount` over the
foreground pixels (one pass per frame and channel, not one per cell), and every
feature is computed on the cell's own pixels, never on its bounding box:

- position: the mask centroid (the reference used the box centre);
- `area`: pixel count; `aspect_ratio`: sqrt(major / minor eigenvalue) of the
  covariance of the pixel coordinates, 1.0 if degenerate;
- `intensity_total` / `intensity_mean`: sum / mean of I - w*B over the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass
class FrameMeasurements:
    """The cells present in one frame and their measurements (arrays aligned on `cell`)."""

    cell: np.ndarray  # track ids
    area: np.ndarray
    centroid_x: np.ndarray
    centroid_y: np.ndarray
    bbox: np.ndarray  # (n, 4): x0, y0, x1, y1 (x1, y1 exclusive, like regionprops)
    aspect_ratio: np.ndarray
    intensity_total: dict[int, np.ndarray]  # channel -> per cell
    intensity_mean: dict[int, np.ndarray]


def aspect_ratios(n, sy, sx, syy, sxx, sxy) -> np.ndarray:
    """sqrt(l_max / l_min) of the coordinate covariance, from per-cell moment sums."""
    with np.errstate(invalid="ignore", divide="ignore"):
        my, mx = sy / n, sx / n
        vyy, vxx, vxy = syy / n - my * my, sxx / n - mx * mx, sxy / n - my * mx
        half_trace = (vyy + vxx) / 2
        root = np.sqrt(np.maximum(((vyy - vxx) / 2) ** 2 + vxy * vxy, 0.0))
        major, minor = half_trace + root, half_trace - root
        ratio = np.sqrt(major / minor)
    # Degenerate (a line or a point): minor ~ 0 up to round-off of the moment sums.
    degenerate = ~np.isfinite(ratio) | (minor <= 1e-9 * np.maximum(major, 1.0))
    return np.where(degenerate, 1.0, ratio)


def measure_frame(
    labels: np.ndarray,
    channels: Sequence[tuple[int, np.ndarray, np.ndarray | None]],
    background_weight: float,
) -> FrameMeasurements:
    """Measure every cell of one frame. `labels`: track id + 1 per pixel (0: none);
    `channels`: (channel, raw frame, background map or None for B = 0) per channel
    whose intensities are wanted."""
    w = labels.shape[1]
    flat = labels.ravel()
    foreground = np.flatnonzero(flat)
    ids = flat[foreground]
    size = int(ids.max()) + 1 if ids.size else 1
    area = np.bincount(ids, minlength=size).astype(np.float64)
    present = np.flatnonzero(area[1:]) + 1
    y, x = np.divmod(foreground, w)
    y, x = y.astype(np.float64), x.astype(np.float64)

    def per_cell(weights: np.ndarray) -> np.ndarray:
        return np.bincount(ids, weights=weights, minlength=size)[present]

    n = area[present]
    sy, sx = per_cell(y), per_cell(x)
    aspect = aspect_ratios(n, sy, sx, per_cell(y * y), per_cell(x * x), per_cell(x * y))
    boxes = ndimage.find_objects(labels)
    bbox = np.array(
        [
            (
                boxes[i - 1][1].start,
                boxes[i - 1][0].start,
                boxes[i - 1][1].stop,
                boxes[i - 1][0].stop,
            )
            for i in present
        ],
        dtype=np.int64,
    ).reshape(-1, 4)
    totals, means = {}, {}
    for channel, raw, background in channels:
        values = raw.ravel()[foreground].astype(np.float64)
        if background is not None:
            values -= background_weight * background.ravel()[foreground].astype(np.float64)
        totals[channel] = per_cell(values)
        means[channel] = totals[channel] / n
    return FrameMeasurements(
        cell=present - 1,
        area=n,
        centroid_x=sx / n,
        centroid_y=sy / n,
        bbox=bbox,
        aspect_ratio=aspect,
        intensity_total=totals,
        intensity_mean=means,
    )
