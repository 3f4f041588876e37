"""Binary morphology with square structuring elements, fast and exactly like scipy's.

The reference cleans masks with `scipy.ndimage.binary_opening/closing(structure=
ones((k, k)), iterations=n)` and dilates with `binary_dilation(ones((k, k)))`.
A square is separable, and n iterations of a k x k square equal one pass of a
(n*(k-1)+1)-wide square (true for boxes even at the frame edge, with scipy's
border_value=0), so each operation is a running count along columns, then
along rows: O(1) per pixel instead of O(k^2 * n). The results are identical to
scipy's (tests/microscopy/test_workflow_segmentation.py).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _box_pass_columns(src, radius, erode):
    """Per pixel: any (dilate) / all (erode, outside = 0) of the column window."""
    h, w = src.shape
    out = np.empty((h, w), np.bool_)
    count = np.zeros(w, np.int32)
    for i in range(min(radius, h)):
        for j in range(w):
            count[j] += src[i, j]
    full = 2 * radius + 1
    for i in range(h):
        add, drop = i + radius, i - radius - 1
        if add < h:
            for j in range(w):
                count[j] += src[add, j]
        if drop >= 0:
            for j in range(w):
                count[j] -= src[drop, j]
        for j in range(w):
            out[i, j] = count[j] == full if erode else count[j] > 0
    return out


@numba.njit(cache=True, nogil=True)
def _box_pass_rows(src, radius, erode):
    """The same along rows."""
    h, w = src.shape
    out = np.empty((h, w), np.bool_)
    full = 2 * radius + 1
    for i in range(h):
        count = 0
        for j in range(min(radius, w)):
            count += src[i, j]
        for j in range(w):
            add, drop = j + radius, j - radius - 1
            if add < w:
                count += src[i, add]
            if drop >= 0:
                count -= src[i, drop]
            out[i, j] = count == full if erode else count > 0
    return out


def _box(mask: np.ndarray, size: int, iterations: int, erode: bool) -> np.ndarray:
    radius = iterations * (size - 1) // 2
    src = np.ascontiguousarray(mask, dtype=bool)
    return _box_pass_rows(_box_pass_columns(src, radius, erode), radius, erode)


def erode_square(mask: np.ndarray, size: int, iterations: int = 1) -> np.ndarray:
    """`binary_erosion(mask, ones((size, size)), iterations)` for odd `size`."""
    return _box(mask, size, iterations, erode=True)


def dilate_square(mask: np.ndarray, size: int, iterations: int = 1) -> np.ndarray:
    """`binary_dilation(mask, ones((size, size)), iterations)` for odd `size`."""
    return _box(mask, size, iterations, erode=False)


def open_square(mask: np.ndarray, size: int, iterations: int = 1) -> np.ndarray:
    """`binary_opening(mask, ones((size, size)), iterations)`."""
    return dilate_square(erode_square(mask, size, iterations), size, iterations)


def close_square(mask: np.ndarray, size: int, iterations: int = 1) -> np.ndarray:
    """`binary_closing(mask, ones((size, size)), iterations)` (border_value=0, like scipy:
    the erosion treats outside the frame as background)."""
    return erode_square(dilate_square(mask, size, iterations), size, iterations)


@numba.njit(cache=True, nogil=True)
def _reachable_background(mask):
    """Background pixels 4-connected to the frame edge (a flood fill from the edge)."""
    h, w = mask.shape
    seen = np.zeros((h, w), np.bool_)
    stack = np.empty(h * w, np.int64)
    top = 0
    for i in range(h):
        for j in range(w):
            if (i == 0 or j == 0 or i == h - 1 or j == w - 1) and not mask[i, j]:
                seen[i, j] = True
                stack[top] = i * w + j
                top += 1
    while top > 0:
        top -= 1
        i, j = divmod(stack[top], w)
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            y, x = i + di, j + dj
            if 0 <= y < h and 0 <= x < w and not mask[y, x] and not seen[y, x]:
                seen[y, x] = True
                stack[top] = y * w + x
                top += 1
    return seen


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """`binary_fill_holes(mask)`: background not 4-connected to the frame edge becomes
    foreground. One flood fill instead of scipy's iterated propagation."""
    return ~_reachable_background(np.ascontiguousarray(mask, dtype=bool))
