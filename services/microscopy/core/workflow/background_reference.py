"""The reference's fluorescence background (pyama-reference.md, step 3, "correction"),
kept by name (`background_method: "reference"`) and identical to it.

Pixels within the cell mask dilated by a 21x21 square are ignored; the frame is
cut into ~256 px tiles overlapping by half; each tile's median of the remaining
pixels (the global median when none remain) sits at the tile's centre; a
bicubic spline through those centres, evaluated at every pixel, is the
background map B. Extraction uses I - w*B.

Speed: the dilation is two running max filters (`morphology.py`), the tile
medians are exact selections on integer pixels compiled with numba (a radix
select: high byte, then low byte), and the spline is evaluated on the pixel grid.
Its model of a frame is the tile medians; `background_from_medians` makes the map.
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


DENSE_RANGE = 4096  # a block whose kept values span more is counted the slow way


@numba.njit(cache=True, nogil=True)
def _tile_medians(frame, keep, ey, ex, fallback):
    """np.median of each tile's kept pixels (tile i, j = blocks i..i+1, j..j+1 of the
    edges' grid), exactly. Each block's kept values are counted once, densely over
    the block's own value range; a tile's median is found by walking the sum of its
    four blocks' counts. Blocks with a very wide range (hot pixels) fall back to a
    radix select over the tile."""
    n_by, n_bx = ey.shape[0] - 1, ex.shape[0] - 1
    low = np.full((n_by, n_bx), 1 << 30, np.int64)
    high = np.full((n_by, n_bx), -1, np.int64)
    count = np.zeros((n_by, n_bx), np.int64)
    for bi in range(n_by):
        for bj in range(n_bx):
            for i in range(ey[bi], ey[bi + 1]):
                for j in range(ex[bj], ex[bj + 1]):
                    if keep[i, j]:
                        v = np.int64(frame[i, j])
                        low[bi, bj] = min(low[bi, bj], v)
                        high[bi, bj] = max(high[bi, bj], v)
                        count[bi, bj] += 1
    span = np.where(count > 0, high - low + 1, 0)
    dense = span <= DENSE_RANGE
    offset = np.zeros((n_by, n_bx), np.int64)
    total = 0
    for bi in range(n_by):
        for bj in range(n_bx):
            offset[bi, bj] = total
            if dense[bi, bj]:
                total += span[bi, bj]
    hist = np.zeros(max(total, 1), np.int64)
    for bi in range(n_by):
        for bj in range(n_bx):
            if dense[bi, bj] and count[bi, bj] > 0:
                base, first = offset[bi, bj], low[bi, bj]
                for i in range(ey[bi], ey[bi + 1]):
                    for j in range(ex[bj], ex[bj + 1]):
                        if keep[i, j]:
                            hist[base + np.int64(frame[i, j]) - first] += 1
    out = np.empty((n_by - 1, n_bx - 1))
    for ti in range(n_by - 1):
        for tj in range(n_bx - 1):
            n = count[ti : ti + 2, tj : tj + 2].sum()
            if n == 0:
                out[ti, tj] = fallback
                continue
            if not dense[ti : ti + 2, tj : tj + 2].all():
                out[ti, tj] = _masked_median(
                    frame[ey[ti] : ey[ti + 2], ex[tj] : ex[tj + 2]],
                    keep[ey[ti] : ey[ti + 2], ex[tj] : ex[tj + 2]],
                )
                continue
            k_a, k_b = (n - 1) // 2, n // 2
            a = b = -1
            seen = 0
            v = 1 << 30
            v_end = -1
            for bi in range(ti, ti + 2):
                for bj in range(tj, tj + 2):
                    if count[bi, bj] > 0:
                        v = min(v, low[bi, bj])
                        v_end = max(v_end, high[bi, bj])
            while b < 0:
                c = 0
                for bi in range(ti, ti + 2):
                    for bj in range(tj, tj + 2):
                        if count[bi, bj] > 0 and low[bi, bj] <= v <= high[bi, bj]:
                            c += hist[offset[bi, bj] + v - low[bi, bj]]
                if a < 0 and seen + c > k_a:
                    a = v
                if seen + c > k_b:
                    b = v
                seen += c
                v += 1
            out[ti, tj] = (a + b) / 2.0
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
    if len(cy) == 1 or len(cx) == 1:
        # Under ~256 px along an axis there is one tile across it: no spline fits
        # through one point, so the map is constant across that axis and linear
        # (clamped at the ends) along the other.
        along_y = np.interp(np.arange(h), cy, medians[:, 0])
        along_x = np.interp(np.arange(w), cx, medians[0, :])
        grid = along_x[None, :] if len(cy) == 1 else along_y[:, None]
        return np.broadcast_to(grid, shape).astype(np.float32)
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
    bx = BSpline.design_matrix(x, tx, deg_x).toarray()
    c = coefficients.reshape(len(ty) - deg_y - 1, len(tx) - deg_x - 1)
    return (by @ c).astype(np.float32) @ bx.T.astype(np.float32)


def background_map(frame: np.ndarray, cell_mask: np.ndarray) -> np.ndarray:
    """The background B (float32, same shape as `frame`) of one fluorescence frame."""
    return background_from_medians(tile_medians(frame, cell_mask), frame.shape)
