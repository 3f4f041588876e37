"""The reference's algorithms written the straightforward way, as pyama-reference.md
states them: the yardstick for bench_workflow and for the identity tests.

Plain numpy/scipy/skimage per frame, as the reference does it: scipy.ndimage
filters and iterated binary morphology, a median per tile, RectBivariateSpline,
connected components with bounding-box IoU and Hungarian assignment (only the
cells of frame 0 get tracks), and a regionprops loop per cell.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.interpolate import RectBivariateSpline
from scipy.optimize import linear_sum_assignment
from skimage.measure import label, regionprops


def segment_logstd(frame: np.ndarray) -> np.ndarray:
    image = frame.astype(np.float32)
    mean = ndimage.uniform_filter(image, 3)
    mean_sq = ndimage.uniform_filter(image * image, 3)
    var = mean_sq - mean * mean
    logstd = np.zeros_like(var)
    logstd[var > 0] = 0.5 * np.log(var[var > 0])
    counts, edges = np.histogram(logstd, bins=200)
    i = np.argmax(counts)
    mode = (edges[i] + edges[i + 1]) / 2
    sigma = np.std(logstd[logstd <= mode])
    mask = logstd > mode + 3 * sigma
    mask = ndimage.binary_fill_holes(mask)
    square = np.ones((7, 7), dtype=bool)
    mask = ndimage.binary_opening(mask, structure=square, iterations=3)
    return ndimage.binary_closing(mask, structure=square, iterations=3)


def background(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    image = frame.astype(np.float32)
    ignore = ndimage.binary_dilation(mask, structure=np.ones((21, 21), dtype=bool))
    h, w = image.shape
    global_median = np.median(image[~ignore]) if (~ignore).any() else np.median(image)

    def edges(n: int) -> np.ndarray:
        divs = max(math.ceil(n / 256) + 1, 2)
        return np.rint(np.linspace(0, n, 2 * divs - 1)).astype(int)

    ey, ex = edges(h), edges(w)
    medians = np.empty((len(ey) - 2, len(ex) - 2))
    for i in range(len(ey) - 2):
        for j in range(len(ex) - 2):
            tile = image[ey[i] : ey[i + 2], ex[j] : ex[j + 2]]
            keep = ~ignore[ey[i] : ey[i + 2], ex[j] : ex[j + 2]]
            medians[i, j] = np.median(tile[keep]) if keep.any() else global_median
    cy = (ey[:-2] + ey[2:]) / 2
    cx = (ex[:-2] + ex[2:]) / 2
    spline = RectBivariateSpline(cy, cx, medians, kx=min(3, len(cy) - 1), ky=min(3, len(cx) - 1))
    return spline(np.arange(h), np.arange(w)).astype(np.float32)


def _box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    y0, x0 = max(a[0], b[0]), max(a[1], b[1])
    y1, x1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, y1 - y0) * max(0, x1 - x0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def track_iou(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Labels per frame, value = track id + 1 (0: untracked). Only frame 0 starts tracks."""
    labelled = [label(m, connectivity=1) for m in masks]
    regions = [regionprops(lab) for lab in labelled]
    current = {r.label: i for i, r in enumerate(regions[0])}  # label -> track id
    out = [np.zeros_like(lab) for lab in labelled]
    for r in regions[0]:
        out[0][labelled[0] == r.label] = current[r.label] + 1
    for t in range(1, len(masks)):
        prev = [r for r in regions[t - 1] if r.label in current]
        cost = np.ones((len(prev), len(regions[t])))
        for i, a in enumerate(prev):
            for j, b in enumerate(regions[t]):
                iou = _box_iou(a.bbox, b.bbox)
                if iou >= 0.1:
                    cost[i, j] = 1 - iou
        rows, cols = linear_sum_assignment(cost) if cost.size else ([], [])
        nxt = {}
        for i, j in zip(rows, cols, strict=True):
            if cost[i, j] < 1:
                nxt[regions[t][j].label] = current[prev[i].label]
                out[t][labelled[t] == regions[t][j].label] = current[prev[i].label] + 1
        current = nxt
    return out


def extract(
    tracks: list[np.ndarray], fluorescence: list[np.ndarray], backgrounds: list[np.ndarray]
) -> list[dict]:
    """One row per cell and frame: box-centre position, area, aspect ratio, intensities."""
    rows = []
    for t, lab in enumerate(tracks):
        corrected = fluorescence[t].astype(np.float32) - backgrounds[t]
        for r in regionprops(lab):
            coords = r.coords.astype(float)
            cov = np.cov(coords.T) if len(coords) > 1 else np.zeros((2, 2))
            ev = np.sort(np.linalg.eigvalsh(cov))
            aspect = math.sqrt(ev[1] / ev[0]) if ev[0] > 0 else 1.0
            values = corrected[r.coords[:, 0], r.coords[:, 1]]
            y0, x0, y1, x1 = r.bbox
            rows.append(
                {
                    "cell": r.label - 1,
                    "frame": t,
                    "position_x": (x0 + x1) / 2,
                    "position_y": (y0 + y1) / 2,
                    "area": r.area,
                    "aspect_ratio": aspect,
                    "intensity_total": float(values.sum()),
                    "intensity_mean": float(values.mean()),
                }
            )
    return rows
