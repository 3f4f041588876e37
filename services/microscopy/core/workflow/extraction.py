"""Extraction (pyama-reference.md, step 5): per cell and frame, features on the mask.

All cells of a frame are measured in one compiled pass over the frame (and one
per fluorescence channel), not one pass per cell, and every
feature is computed on the cell's own pixels, never on its bounding box:

- position: the mask centroid (the reference used the box centre);
- `area`: pixel count; `aspect_ratio`: sqrt(major / minor eigenvalue) of the
  covariance of the pixel coordinates, 1.0 if degenerate;
- `intensity_total` / `intensity_mean`: sum / mean of I - w*B over the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np


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


@numba.njit(cache=True, nogil=True)
def _shape_sums(labels, size):
    """Per label: pixel count, coordinate sums and second moments, bounding box."""
    n = np.zeros(size)
    sums = np.zeros((size, 5))  # y, x, yy, xx, xy
    box = np.empty((size, 4), np.int64)  # x0, y0, x1, y1 (exclusive)
    box[:, 0] = box[:, 1] = 1 << 62
    box[:, 2] = box[:, 3] = -1
    h, w = labels.shape
    for i in range(h):
        for j in range(w):
            k = labels[i, j]
            if k == 0:
                continue
            y, x = float(i), float(j)
            n[k] += 1
            sums[k, 0] += y
            sums[k, 1] += x
            sums[k, 2] += y * y
            sums[k, 3] += x * x
            sums[k, 4] += x * y
            box[k, 0] = min(box[k, 0], j)
            box[k, 1] = min(box[k, 1], i)
            box[k, 2] = max(box[k, 2], j + 1)
            box[k, 3] = max(box[k, 3], i + 1)
    return n, sums, box


@numba.njit(cache=True, nogil=True)
def _corrected_sums(labels, raw, background, weight, size):
    """Per label: the sum of raw - weight * background over its pixels (float64)."""
    total = np.zeros(size)
    h, w = labels.shape
    for i in range(h):
        for j in range(w):
            k = labels[i, j]
            if k != 0:
                total[k] += float(raw[i, j]) - weight * float(background[i, j])
    return total


def measure_frame(
    labels: np.ndarray,
    channels: Sequence[tuple[int, np.ndarray, np.ndarray | None]],
    background_weight: float,
) -> FrameMeasurements:
    """Measure every cell of one frame. `labels`: track id + 1 per pixel (0: none);
    `channels`: (channel, raw frame, background map or None for B = 0) per channel
    whose intensities are wanted. One compiled pass per frame and channel."""
    labels = np.ascontiguousarray(labels)
    size = int(labels.max()) + 1
    count, sums, box = _shape_sums(labels, size)
    present = np.flatnonzero(count[1:]) + 1
    n = count[present]
    sy, sx, syy, sxx, sxy = sums[present].T
    totals, means = {}, {}
    for channel, raw, background in channels:
        if background is None:  # phase-contrast intensities: B = 0
            background, weight = np.zeros((1, 1), np.float32), 0.0
            background = np.broadcast_to(background, labels.shape)
        else:
            weight = float(background_weight)
        totals[channel] = _corrected_sums(labels, raw, background, weight, size)[present]
        means[channel] = totals[channel] / n
    return FrameMeasurements(
        cell=present - 1,
        area=n,
        centroid_x=sx / n,
        centroid_y=sy / n,
        bbox=box[present],
        aspect_ratio=aspect_ratios(n, sy, sx, syy, sxx, sxy),
        intensity_total=totals,
        intensity_mean=means,
    )
