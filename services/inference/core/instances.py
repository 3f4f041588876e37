"""Instance post-processing of a stitched canvas, in O(pixels).

The labels come from tiatoolbox's watershed (`HoVerNet._proc_np_hv`), split in
edges.py and watershed.py and giving the same labels. Per-nucleus facts
come from one `scipy.ndimage.find_objects` pass: each nucleus is then measured
inside its bounding box only, never by scanning the whole canvas per nucleus
(tiatoolbox's `get_instance_info` compares the full map with every id). The
facts match tiatoolbox's: contour (OpenCV, simple chain), centroid (moments),
type (majority, background only when nothing else), probability (share of the
nucleus' pixels of that type).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Instance:
    """One nucleus in canvas pixel indices."""

    centroid: tuple[float, float]  # x, y
    contour: np.ndarray  # K x 2 int (x, y)
    cell_type: int
    probability: float


def measure(labels: np.ndarray, types: np.ndarray | None) -> list[Instance]:
    """Every labelled nucleus, measured within its own bounding box."""
    found = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        mask = (labels[box] == index).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
        contour = np.squeeze(contours[0]).astype(np.int32)
        if contour.ndim != 2 or contour.shape[0] < 3:
            continue  # fewer than three points: not a contour (as tiatoolbox)
        moments = cv2.moments(mask)
        top, left = box[0].start, box[1].start
        centroid = (moments["m10"] / moments["m00"] + left, moments["m01"] / moments["m00"] + top)
        cell_type, probability = 0, 0.0
        if types is not None:
            cell_type, probability = _majority(types[box][mask.astype(bool)])
        found.append(
            Instance(centroid, contour + np.array([left, top], np.int32), cell_type, probability)
        )
    return found


def _majority(values: np.ndarray) -> tuple[int, float]:
    counts = np.bincount(values)
    order = np.argsort(-counts, kind="stable")
    best = int(order[0])
    if best == 0 and len(order) > 1 and counts[order[1]] > 0:
        best = int(order[1])
    return best, float(counts[best] / (values.size + 1.0e-6))


def shoelace_area(contour: np.ndarray) -> float:
    """Area enclosed by a closed polygon (any units squared)."""
    x, y = contour[:, 0], contour[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def perimeter(contour: np.ndarray) -> float:
    """Length of a closed polygon."""
    return float(np.sum(np.hypot(*(np.roll(contour, -1, axis=0) - contour).T)))
