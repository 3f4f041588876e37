"""The sparse back half of HoVerNet's post-processing, on the CPU.

From `edges.Edges` (nuclear mask, edge map) to instance labels, the same
labels as tiatoolbox's `HoVerNet._proc_np_hv`, step for step, with faster
exact equivalents where tiatoolbox's are slow:

- nuclear components of 9 px or less dropped: OpenCV's component areas
  instead of `ndimage.label` + `remove_small_objects`;
- markers' holes filled: the background components (4-connected) that touch
  no border, instead of `binary_fill_holes`' iterated dilation;
- the watershed per nuclear component (4-connected, as the watershed's own
  connectivity, so no flood crosses between them): a component with one marker
  is that marker's whole, one with none stays background, and only components
  with several markers run skimage's watershed, on their bounding box.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed as skimage_watershed

SMALLEST_NUCLEUS = 10  # px: components of 9 px or less are dropped (twice)
EDGE_THRESHOLD = 0.4
_OPENING = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


def instance_labels(nuclear: np.ndarray, edge_map: np.ndarray) -> np.ndarray:
    """Instance labels (H x W int32) of a canvas' nuclear mask (uint8) and edge map
    (float32), `edges.Edges`' two halves."""
    nuclear = np.ascontiguousarray(nuclear, dtype=np.uint8)
    edge_map = np.asarray(edge_map, dtype=np.float32)
    _, components, stats, _ = cv2.connectedComponentsWithStats(
        nuclear, connectivity=4, ltype=cv2.CV_32S
    )
    kept = stats[:, cv2.CC_STAT_AREA] >= SMALLEST_NUCLEUS
    kept[0] = False
    blob = kept[components]
    # tiatoolbox: overall = edges where blob, else 0; dist = (1 - overall) * blob (float64).
    dist = np.where(blob, 1.0 - edge_map.astype(np.float64), 0.0)
    dist = -cv2.GaussianBlur(dist, (3, 3), 0)
    marker = blob & (edge_map < EDGE_THRESHOLD)
    marker = _fill_holes(marker)
    marker = cv2.morphologyEx(marker.view(np.uint8), cv2.MORPH_OPEN, _OPENING)
    marker = ndimage.label(marker)[0]
    sizes = np.bincount(marker.ravel())
    marker[(sizes < SMALLEST_NUCLEUS)[marker]] = 0
    return _watershed_by_component(dist, marker, np.where(blob, components, 0), stats)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """`ndimage.binary_fill_holes` (4-connected background): everything but the
    background components that reach the border."""
    _, background = cv2.connectedComponents((~mask).view(np.uint8), connectivity=4)
    outside = np.zeros(background.max() + 1, bool)
    for edge in (background[0], background[-1], background[:, 0], background[:, -1]):
        outside[edge] = True
    outside[0] = False  # label 0: the mask itself
    return ~outside[background]


def _watershed_by_component(
    dist: np.ndarray, marker: np.ndarray, components: np.ndarray, stats: np.ndarray
) -> np.ndarray:
    """skimage's watershed(dist, marker, mask=components > 0), one component at a time."""
    marker = np.where(components > 0, marker, 0).astype(np.int32)
    seeded = marker > 0
    pairs = np.unique(
        np.stack([components[seeded], marker[seeded]]).astype(np.int64), axis=1
    )  # (component, marker) pairs, sorted by component
    owners, first, counts = np.unique(pairs[0], return_index=True, return_counts=True)
    fill = np.zeros(len(stats), np.int32)
    single = counts == 1
    fill[owners[single]] = pairs[1, first[single]]
    labels = fill[components]
    for component in owners[~single]:
        x, y, w, h = stats[component, :4]
        box = (slice(y, y + h), slice(x, x + w))
        inside = components[box] == component
        flooded = skimage_watershed(dist[box], markers=marker[box] * inside, mask=inside)
        labels[box][inside] = flooded[inside]
    return labels
