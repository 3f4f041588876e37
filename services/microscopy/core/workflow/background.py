"""Fluorescence background (pyama-reference.md, step 3, "correction").

Pixels within the cell mask dilated by a 21x21 square are ignored; the frame is
cut into ~256 px tiles overlapping by half; each tile's median of the remaining
pixels (the global median when none remain) sits at the tile's centre; a
bicubic spline through those centres, evaluated at every pixel, is the
background map B. Extraction uses I - w*B.

Speed: the dilation is two running max filters (`morphology.py`), the tile
medians are exact selections on integer pixels compiled with numba (a radix
select: high byte, then low byte), and the spline is evaluated on the pixel grid.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy.interpolate import BSpline, RectBivariateSpline

from . import morphology

MASK_DILATION = 21
TILE_SIZE = 256


def tile_edges(n: int) -> np.ndarray:
    """Tile boundaries along one axis: tile i spans edges[i]:edges[i+2] (50% overlap)."""
    divs = max(math.ceil(n / TILE_SIZE) + 1, 2)
    return np.rint(np.linspace(0, n, 2 * divs - 1)).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _select(hist_hi: np.ndarray, values: np.ndarray, keep: np.ndarray, k: int) -> int:
    """The k-th smallest (0-based) kept uint16 value, given the high-byte histogram."""
    seen = 0
    hi = 0
    while seen + hist_hi[hi] <= k:
        seen += hist_hi[hi]
        hi += 1
    low = np.zeros(256, np.int64)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if keep[i, j] and (v >> 8) == hi:
                low[v & 255] += 1
    lo = 0
    while seen + low[lo] <= k:
        seen += low[lo]
        lo += 1
    return (hi << 8) | lo


@numba.njit(cache=True, nogil=True)
def _masked_median(values: np.ndarray, keep: np.ndarray) -> float:
    """np.median(values[keep]) for uint16 values; NaN when nothing is kept."""
    hist_hi = np.zeros(256, np.int64)
    n = 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if keep[i, j]:
                hist_hi[values[i, j] >> 8] += 1
                n += 1
    if n == 0:
        return np.nan
    a = _select(hist_hi, values, keep, (n - 1) // 2)
    if n % 2 == 1:
        return float(a)
    b = _select(hist_hi, values, keep, n // 2)
    return (a + b) / 2.0


@numba.njit(cache=True, nogil=True)
def _rank_in_histogram(hist, k):
    """(bin, rank within the bin) of the k-th smallest value counted in `hist`."""
    seen = 0
    b = 0
    while seen + hist[b] <= k:
        seen += hist[b]
        b += 1
    return b, k - seen


@numba.njit(cache=True, nogil=True)
def _tile_medians(frame, keep, ey, ex, fallback):
    """np.median of each tile's kept pixels (tile i, j = blocks i..i+1, j..j+1 of the
    edges' grid), exactly: the high bytes of every block are counted once, a tile's
    counts are the sum of its four blocks', which locates the median's high byte;
    one scan of the tile for the low bytes of that high byte finishes the selection."""
    n_by, n_bx = ey.shape[0] - 1, ex.shape[0] - 1
    high = np.zeros((n_by, n_bx, 256), np.int64)
    for bi in range(n_by):
        for bj in range(n_bx):
            for i in range(ey[bi], ey[bi + 1]):
                for j in range(ex[bj], ex[bj + 1]):
                    if keep[i, j]:
                        high[bi, bj, frame[i, j] >> 8] += 1
    out = np.empty((n_by - 1, n_bx - 1))
    low_a = np.zeros(256, np.int64)
    low_b = np.zeros(256, np.int64)
    for ti in range(n_by - 1):
        for tj in range(n_bx - 1):
            hist = high[ti, tj] + high[ti + 1, tj] + high[ti, tj + 1] + high[ti + 1, tj + 1]
            n = hist.sum()
            if n == 0:
                out[ti, tj] = fallback
                continue
            hi_a, rank_a = _rank_in_histogram(hist, (n - 1) // 2)
            hi_b, rank_b = _rank_in_histogram(hist, n // 2)
            low_a[:] = 0
            low_b[:] = 0
            for i in range(ey[ti], ey[ti + 2]):
                for j in range(ex[tj], ex[tj + 2]):
                    if keep[i, j]:
                        v = frame[i, j]
                        if v >> 8 == hi_a:
                            low_a[v & 255] += 1
                        if v >> 8 == hi_b:
                            low_b[v & 255] += 1
            a = (hi_a << 8) | _rank_in_histogram(low_a, rank_a)[0]
            b = (hi_b << 8) | _rank_in_histogram(low_b, rank_b)[0]
            out[ti, tj] = (a + b) / 2.0
    return out


@numba.njit(cache=True, nogil=True)
def _times_sparse_transpose(left, indptr, indices, data):
    """left @ B.T for a CSR matrix B, as float32 (h x w)."""
    h, w = left.shape[0], indptr.shape[0] - 1
    out = np.empty((h, w), np.float32)
    for i in range(h):
        for j in range(w):
            acc = 0.0
            for k in range(indptr[j], indptr[j + 1]):
                acc += left[i, indices[k]] * data[k]
            out[i, j] = acc
    return out


def tile_medians(frame: np.ndarray, cell_mask: np.ndarray) -> np.ndarray:
    """The median of each tile's pixels away from cells: the background model of one
    frame, (tiles along y, tiles along x) float64. Integer frames up to 16 bits."""
    frame = np.ascontiguousarray(frame, dtype=np.uint16)
    keep = ~morphology.dilate_square(cell_mask, MASK_DILATION)
    h, w = frame.shape
    medians = _tile_medians(frame, keep, tile_edges(h), tile_edges(w), np.nan)
    empty = np.isnan(medians)
    if empty.any():  # tiles all cells: the median of every cell-free pixel (or of all)
        fallback = _masked_median(frame, keep)
        if np.isnan(fallback):
            fallback = _masked_median(frame, np.ones_like(keep))
        medians[empty] = fallback
    return medians


def background_from_medians(medians: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The background map B (float32, `shape`): the bicubic spline through the tile
    centres, evaluated at every pixel."""
    h, w = shape
    ey, ex = tile_edges(h), tile_edges(w)
    cy, cx = (ey[:-2] + ey[2:]) / 2, (ex[:-2] + ex[2:]) / 2
    # Bicubic where there are 4+ tiles per axis; small frames get the degree their tiles allow.
    deg_y, deg_x = min(3, len(cy) - 1), min(3, len(cx) - 1)
    ty, tx, coefficients = RectBivariateSpline(cy, cx, medians, kx=deg_y, ky=deg_x).tck
    # The tensor-product spline on the pixel grid is By @ C @ Bx.T: two small matrix
    # products instead of evaluating it pixel by pixel.
    # Beyond the outer tile centres the map stays at its edge value, as FITPACK's
    # evaluation (the reference's) clamps coordinates to the knot range.
    y = np.clip(np.arange(h, dtype=float), cy[0], cy[-1])
    x = np.clip(np.arange(w, dtype=float), cx[0], cx[-1])
    by = BSpline.design_matrix(y, ty, deg_y).toarray()
    bx = BSpline.design_matrix(x, tx, deg_x).tocsr()
    c = coefficients.reshape(len(ty) - deg_y - 1, len(tx) - deg_x - 1)
    # Each column of Bx.T has deg_x + 1 non-zeros: (By @ C) @ Bx.T is a few
    # multiply-adds per pixel, compiled, rather than a dense product.
    return _times_sparse_transpose(by @ c, bx.indptr, bx.indices, bx.data)


def background_map(frame: np.ndarray, cell_mask: np.ndarray) -> np.ndarray:
    """The background B (float32, same shape as `frame`) of one fluorescence frame."""
    return background_from_medians(tile_medians(frame, cell_mask), frame.shape)
