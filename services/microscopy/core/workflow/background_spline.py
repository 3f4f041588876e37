"""The default fluorescence background: a robust penalized spline surface fitted to the
cell-free pixels of the whole frame (`background_method: "pspline"`).

Why not the reference's: its spline runs through the medians of 256 px tiles, placed at
the tile centres, and is clamped beyond the outer centres, so everything within ~128-256
px of an edge gets a constant background. On a steep or curved field (uneven
illumination, stray light in a corner) the cells there are measured far off. Here:

1. Cell-free pixels: the cell mask dilated by a 21 x 21 square is ignored (as the
   reference does).
2. Bins: the frame is cut into bins of about 16 px (4 per knot interval), borders
   included; each bin's level is the 10%-trimmed mean of its cell-free pixels (robust to
   a stray bright pixel, and free of the half-count bias a median of integer pixels
   has). Bins with no cell-free pixel carry no data.
3. Surface: a bicubic tensor-product B-spline on uniform knots about 64 px apart (at
   most 16 intervals per axis), with the knots continuing past the frame so the surface
   is a true polynomial piece up to every edge and corner: no clamping, no constant
   extrapolation. Each bin is modelled as the average of the surface over its own
   cell-free pixels (so a bin on a curved field is not biased by its curvature), and
   the coefficients solve the weighted least-squares problem (weights = pixel counts)
   with a small third-difference penalty, which is zero for quadratic surfaces and
   carries the fit across the holes that cells leave (masked corners included) along
   the trend of their surroundings.
4. Robustness: two reweighting rounds (Tukey's biweight on the standardised bin
   residuals) drop bins lit by cells the segmentation missed.

The model of a frame is the (ky, kx) spline coefficients (a few KB); `render` makes the
map B = By @ C @ Bx^T on the pixel grid. Frames with too few cell-free bins fall back to
one constant level (the trimmed mean of the cell-free pixels, or of all pixels).
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from scipy import linalg
from scipy.interpolate import BSpline
from threadpoolctl import ThreadpoolController

from . import morphology

MASK_DILATION = 21
KNOT_SPACING = 64  # px between knots (frames up to 1024 px) ...
MAX_INTERVALS = 16  # ... and at most this many knot intervals per axis
BINS_PER_INTERVAL = 4  # bins of ~16 px
TRIM = 0.1  # fraction cut from each end of a bin's values
PENALTY = 1e-4  # third-difference penalty, relative to the mean weight per coefficient
RIDGE = 1e-9  # pull towards the frame's level where nothing else decides
REWEIGHTS = 2  # robust reweighting rounds
TUKEY_C = 2.0  # biweight cut-off: a bin level this many pixel-noise sigmas off
MIN_BINS = 16  # fewer bins with data: a constant background
DEGREE = 3

# The solves and products here are small (a few hundred unknowns, 19-wide factors): a
# pool of BLAS threads only adds waking and spinning, which on busy cores made a 2048 px
# frame's fit take seconds. Workers run in parallel processes anyway.
_BLAS = ThreadpoolController()


def intervals(n: int) -> int:
    """Knot intervals along an axis of n pixels."""
    return min(MAX_INTERVALS, max(1, round(n / KNOT_SPACING)))


def knots(n: int) -> np.ndarray:
    """Uniform knots over [0, n], continuing three intervals past each end."""
    m = intervals(n)
    return np.arange(-DEGREE, m + DEGREE + 1) * (n / m)


def model_shape(shape: tuple[int, int]) -> tuple[int, int]:
    """The coefficients' shape for frames of `shape`."""
    return intervals(shape[0]) + DEGREE, intervals(shape[1]) + DEGREE


@lru_cache(maxsize=8)
def _basis(n: int) -> np.ndarray:
    """(n, coefficients) cubic B-spline values at pixel coordinates 0..n-1 (shared:
    read only)."""
    basis = BSpline.design_matrix(np.arange(n, dtype=float), knots(n), DEGREE).toarray()
    basis.flags.writeable = False
    return basis


def _bin_edges(n: int) -> np.ndarray:
    return np.rint(np.linspace(0, n, BINS_PER_INTERVAL * intervals(n) + 1)).astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _trimmed_mean(hist, low, high, n, trim):
    """Mean of the ranks [trim*n, n - trim*n) of values counted in hist[low..high]."""
    k0, k1 = trim * n, n - trim * n
    seen = 0.0
    total = 0.0
    for v in range(low, high + 1):
        c = hist[v]
        if c == 0:
            continue
        a0, a1 = max(seen, k0), min(seen + c, k1)
        if a1 > a0:
            total += (a1 - a0) * v
        seen += c
        if seen >= k1:
            break
    return total / (k1 - k0)


@numba.njit(cache=True, nogil=True)
def _bins(frame, keep, ey, ex, by, bx, trim):
    """Per bin: cell-free pixel count, trimmed mean, and the averages over its cell-free
    pixels of each row basis function (dy) and each column basis function (dx)."""
    nby, nbx = ey.shape[0] - 1, ex.shape[0] - 1
    count = np.zeros((nby, nbx), np.int64)
    level = np.zeros((nby, nbx))
    dy = np.zeros((nby, nbx, by.shape[1]))
    dx = np.zeros((nby, nbx, bx.shape[1]))
    hist = np.zeros(65536, np.int64)
    rows = np.zeros(max(ey[1:] - ey[:-1]) if nby else 0, np.int64)
    cols = np.zeros(bx.shape[0], np.int64)
    for bi in range(nby):
        for bj in range(nbx):
            low, high, n = 65535, 0, 0
            for i in range(ey[bi], ey[bi + 1]):
                in_row = 0
                for j in range(ex[bj], ex[bj + 1]):
                    if keep[i, j]:
                        v = frame[i, j]
                        hist[v] += 1
                        low = min(low, v)
                        high = max(high, v)
                        in_row += 1
                        cols[j] += 1
                rows[i - ey[bi]] = in_row
                n += in_row
            if n == 0:
                continue
            count[bi, bj] = n
            level[bi, bj] = _trimmed_mean(hist, low, high, n, trim)
            hist[low : high + 1] = 0
            for i in range(ey[bi], ey[bi + 1]):
                r = rows[i - ey[bi]] / n
                if r:
                    for k in range(by.shape[1]):
                        dy[bi, bj, k] += r * by[i, k]
            for j in range(ex[bj], ex[bj + 1]):
                c = cols[j] / n
                if c:
                    for k in range(bx.shape[1]):
                        dx[bi, bj, k] += c * bx[j, k]
                    cols[j] = 0
    return count, level, dy, dx


@numba.njit(cache=True, nogil=True)
def _normal_equations(weight, level, dy, dx):
    """A^T W A and A^T W v of the bins' rows a = dy (x) dx (outer product, flattened)."""
    nby, nbx, ky = dy.shape
    kx = dx.shape[2]
    ata = np.zeros((ky * kx, ky * kx))
    atv = np.zeros(ky * kx)
    for bi in range(nby):
        for bj in range(nbx):
            w = weight[bi, bj]
            if w <= 0:
                continue
            y0, y1 = ky, 0
            for p in range(ky):
                if dy[bi, bj, p] != 0:
                    y0, y1 = min(y0, p), p + 1
            x0, x1 = kx, 0
            for q in range(kx):
                if dx[bi, bj, q] != 0:
                    x0, x1 = min(x0, q), q + 1
            for p in range(y0, y1):
                for q in range(x0, x1):
                    a = dy[bi, bj, p] * dx[bi, bj, q]
                    row = p * kx + q
                    atv[row] += w * a * level[bi, bj]
                    for p2 in range(y0, y1):
                        for q2 in range(x0, x1):
                            ata[row, p2 * kx + q2] += w * a * dy[bi, bj, p2] * dx[bi, bj, q2]
    return ata, atv


def _difference_penalty(k: int, order: int = 3) -> np.ndarray:
    d = np.diff(np.eye(k), n=min(order, k - 1), axis=0)
    return d.T @ d


@lru_cache(maxsize=8)
def _penalty(ky: int, kx: int) -> np.ndarray:
    return np.kron(_difference_penalty(ky), np.eye(kx)) + np.kron(
        np.eye(ky), _difference_penalty(kx)
    )


def _constant(frame: np.ndarray, keep: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """All coefficients at one level (B-splines sum to one: a flat map)."""
    values = np.sort(frame[keep] if keep.any() else frame.ravel())
    cut = int(TRIM * values.size)
    level = float(values[cut : values.size - cut].mean()) if values.size else 0.0
    return np.full(shape, level)


@_BLAS.wrap(limits=1, user_api="blas")
def fit(frame: np.ndarray, cell_mask: np.ndarray) -> np.ndarray:
    """The spline coefficients (model_shape(frame.shape), float64) of one frame's
    background, fitted to its pixels away from cells. Integer frames up to 16 bits."""
    frame = np.ascontiguousarray(frame, dtype=np.uint16)
    h, w = frame.shape
    shape = model_shape((h, w))
    keep = ~morphology.dilate_square(cell_mask, MASK_DILATION)
    count, level, dy, dx = _bins(
        frame, keep, _bin_edges(h), _bin_edges(w), _basis(h), _basis(w), TRIM
    )
    has_data = count > 0
    if has_data.sum() < MIN_BINS:
        return _constant(frame, keep, shape)
    ky, kx = shape
    penalty = _penalty(ky, kx)
    prior = float(np.median(level[has_data]))
    weight = count.astype(np.float64)
    coefficients = None
    for round_ in range(REWEIGHTS + 1):
        ata, atv = _normal_equations(weight, level, dy, dx)
        scale = weight.sum() / (ky * kx)
        system = ata + PENALTY * scale * penalty
        system[np.diag_indices_from(system)] += RIDGE * scale
        factor = linalg.cho_factor(system, check_finite=False)
        solution = linalg.cho_solve(factor, atv + RIDGE * scale * prior, check_finite=False)
        coefficients = solution.reshape(ky, kx)
        if round_ == REWEIGHTS:
            break
        predicted = ((dy.reshape(-1, ky) @ coefficients) * dx.reshape(-1, kx)).sum(axis=1)
        residual = level - predicted.reshape(level.shape)
        # The pixels' noise (a bin's level varies as noise / sqrt(count)); a bin whose
        # level is off the surface by a good part of it holds light from something
        # other than the background. The cut is in pixel noise, not in the bins' own
        # standard error, so that a steep field the spline follows only to within a
        # count or so keeps all its bins.
        noise = 1.4826 * float(np.median(np.abs(residual[has_data]) * np.sqrt(count[has_data])))
        u = residual / (TUKEY_C * max(noise, 0.5))
        biweight = np.where(np.abs(u) < 1.0, (1.0 - u**2) ** 2, 0.0)
        next_weight = count * biweight
        if (next_weight > 0).sum() < MIN_BINS:
            break
        weight = next_weight
    return coefficients


@_BLAS.wrap(limits=1, user_api="blas")
def render(coefficients: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The background map B (float32, `shape`) of a frame's coefficients."""
    h, w = shape
    by = _basis(h).astype(np.float32)
    bx = _basis(w).astype(np.float32)
    return (by @ coefficients.astype(np.float32)) @ bx.T


def background_map(frame: np.ndarray, cell_mask: np.ndarray) -> np.ndarray:
    """The background B (float32, same shape as `frame`) of one fluorescence frame."""
    return render(fit(frame, cell_mask), frame.shape)
