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
    """The same along rows: a running count per row."""
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


def open_then_close_square(mask: np.ndarray, size: int, iterations: int = 1) -> np.ndarray:
    """`close_square(open_square(mask, ...), ...)` in three box operations: the
    opening's dilation and the closing's are one dilation by the doubled square."""
    radius = iterations * (size - 1) // 2
    opened = erode_square(mask, 2 * radius + 1)
    return erode_square(dilate_square(opened, 4 * radius + 1), 2 * radius + 1)


@numba.njit(cache=True, nogil=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(cache=True, nogil=True)
def _joined_runs(mask, value):
    """Runs of pixels equal to `value` in each row, joined into 4-connected components
    with a union-find (runs of adjacent rows touch when their columns overlap).
    Returns (row, start, end, root) per run; roots are the component's first run."""
    h, w = mask.shape
    run_start = np.empty(h * (w // 2 + 1), np.int32)
    run_end = np.empty_like(run_start)
    run_row = np.empty_like(run_start)
    first_run = np.empty(h + 1, np.int64)
    n = 0
    for i in range(h):
        first_run[i] = n
        j = 0
        while j < w:
            if mask[i, j] != value:
                j += 1
                continue
            run_start[n] = j
            while j < w and mask[i, j] == value:
                j += 1
            run_end[n] = j
            run_row[n] = i
            n += 1
    first_run[h] = n
    parent = np.arange(n)
    for i in range(1, h):
        a, a_end = first_run[i - 1], first_run[i]
        b, b_end = first_run[i], first_run[i + 1]
        while a < a_end and b < b_end:
            if run_start[a] < run_end[b] and run_start[b] < run_end[a]:
                ra, rb = _find(parent, a), _find(parent, b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            if run_end[a] < run_end[b]:
                a += 1
            else:
                b += 1
    for r in range(n):
        parent[r] = _find(parent, r)
    return run_row[:n], run_start[:n], run_end[:n], parent


@numba.njit(cache=True, nogil=True)
def _fill_holes(mask):
    h, w = mask.shape
    rows, starts, ends, root = _joined_runs(mask, False)
    at_edge = np.zeros(rows.shape[0], np.bool_)
    for r in range(rows.shape[0]):
        if rows[r] == 0 or rows[r] == h - 1 or starts[r] == 0 or ends[r] == w:
            at_edge[root[r]] = True
    out = mask.copy()
    for r in range(rows.shape[0]):
        if not at_edge[root[r]]:
            out[rows[r], starts[r] : ends[r]] = True
    return out


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """`binary_fill_holes(mask)`: background not 4-connected to the frame edge becomes
    foreground. Works on runs of pixels, not pixels: a few thousand unions per frame."""
    return _fill_holes(np.ascontiguousarray(mask, dtype=bool))


@numba.njit(cache=True, nogil=True)
def _label(mask):
    rows, starts, ends, root = _joined_runs(mask, True)
    labels = np.zeros(mask.shape, np.int32)
    number = np.zeros(rows.shape[0], np.int32)
    n = 0
    for r in range(rows.shape[0]):  # runs are in raster order: so are the labels
        if number[root[r]] == 0:
            n += 1
            number[root[r]] = n
        labels[rows[r], starts[r] : ends[r]] = number[root[r]]
    return labels, n


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """`scipy.ndimage.label(mask)` (4-connectivity, labels 1..n in raster order of each
    object's first pixel), from the same joined runs."""
    return _label(np.ascontiguousarray(mask, dtype=bool))
