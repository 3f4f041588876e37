"""Segmentation of phase-contrast frames, method `logstd` (pyama-reference.md, step 2).

Per frame, in float32: the log of the local standard deviation in a 3x3 window,
thresholded at mode + 3 sigma of its 200-bin histogram, then holes filled,
opened and closed with a 7x7 square, 3 iterations each. The arithmetic is the
reference's, operation for operation, so masks are identical; the speed comes
from the morphology (`morphology.py`).
"""

from __future__ import annotations

import numba
import numpy as np

from . import morphology

WINDOW = 3
HISTOGRAM_BINS = 200
THRESHOLD_SIGMAS = 3.0
CLEANUP_SIZE = 7
CLEANUP_ITERATIONS = 3


@numba.njit(cache=True, nogil=True)
def _local_variance(image):
    """E[x^2] - E[x]^2 over 3x3 windows in float32, computed exactly as
    `scipy.ndimage.uniform_filter(a, 3)` (mode "reflect") computes each mean: along
    axis 0, then axis 1, a running window sum in double per line, divided by 3 and
    rounded to float32 after each axis. Both means in one streaming pass: each
    row's column means are made, then at once filtered along the row."""
    h, w = image.shape
    run = np.zeros(w)
    run_sq = np.zeros(w)
    m = np.empty(w, np.float32)
    m2 = np.empty(w, np.float32)
    var = np.empty((h, w), np.float32)
    second = min(1, w - 1)
    for i in range(h):
        enter, leave = min(i + 1, h - 1), max(i - 2, 0)
        for j in range(w):
            x_in = np.float64(image[enter, j])
            sq_in = np.float64(np.float32(image[enter, j] * image[enter, j]))
            if i == 0:  # the first window: row 0 (reflected), row 0, row 1
                x0 = np.float64(image[0, j])
                sq0 = np.float64(np.float32(image[0, j] * image[0, j]))
                run[j] = ((0.0 + x0) + x0) + x_in
                run_sq[j] = ((0.0 + sq0) + sq0) + sq_in
            else:
                x_out = image[leave, j]
                run[j] += x_in - np.float64(x_out)
                run_sq[j] += sq_in - np.float64(np.float32(x_out * x_out))
            m[j] = run[j] / 3.0
            m2[j] = run_sq[j] / 3.0
        r = ((0.0 + np.float64(m[0])) + np.float64(m[0])) + np.float64(m[second])
        r2 = ((0.0 + np.float64(m2[0])) + np.float64(m2[0])) + np.float64(m2[second])
        for j in range(w):
            if j > 0:
                enter_j, leave_j = min(j + 1, w - 1), max(j - 2, 0)
                r += np.float64(m[enter_j]) - np.float64(m[leave_j])
                r2 += np.float64(m2[enter_j]) - np.float64(m2[leave_j])
            mean = np.float32(r / 3.0)
            var[i, j] = np.float32(r2 / 3.0) - mean * mean
    return var


def log_std(frame: np.ndarray) -> np.ndarray:
    """0.5 * ln(local variance) in a 3x3 window (0 where the variance is not positive)."""
    var = _local_variance(np.ascontiguousarray(frame, dtype=np.float32))
    # ln(1) = 0 gives the reference's 0 where var <= 0; in place, without copies.
    var[var <= 0] = 1
    np.log(var, out=var)
    var *= np.float32(0.5)
    return var


@numba.njit(cache=True, nogil=True)
def _bin_counts(values, first, last, edges):
    """Counts of float32 `values` in the equal bins `edges`, assigned exactly as
    np.histogram assigns them (float32 index arithmetic, then the +-1 edge fixes)."""
    n_bins = edges.shape[0] - 1
    # numpy estimates the bin with float32 arithmetic, then fixes it by comparing
    # with the edges; any estimate within one bin ends in the same, edge-defined
    # bin, so a multiplication by the reciprocal (no division) is enough here.
    scale = n_bins / (np.float64(last) - np.float64(first))
    counts = np.zeros(n_bins, np.int64)
    for x in values.ravel():
        i = min(int((np.float64(x) - first) * scale), n_bins)
        if i == n_bins:
            i -= 1
        if x < edges[i]:
            i -= 1
        elif x >= edges[i + 1] and i != n_bins - 1:
            i += 1
        counts[i] += 1
    return counts


def _equal_bin_histogram(values: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """np.histogram(values, bins=n_bins) of a finite float32 array: the same edges and
    counts, in one compiled pass instead of numpy's blocks of sorting-free passes."""
    first, last = values.min(), values.max()
    if first == last:
        first, last = first - 0.5, last + 0.5
    edges = np.linspace(first, last, n_bins + 1, endpoint=True, dtype=values.dtype)
    return _bin_counts(values, values.dtype.type(first), values.dtype.type(last), edges), edges


def histogram_threshold(values: np.ndarray) -> np.floating:
    """mode + 3 sigma, the mode being the centre of the fullest of 200 bins and sigma
    the standard deviation of the values at or below it (float32, as the reference)."""
    counts, edges = _equal_bin_histogram(values, HISTOGRAM_BINS)
    fullest = int(np.argmax(counts))
    mode = (edges[fullest] + edges[fullest + 1]) / 2
    sigma = np.std(values[values <= mode])
    return mode + THRESHOLD_SIGMAS * sigma


def segment_logstd(
    frame: np.ndarray, size: int = CLEANUP_SIZE, iterations: int = CLEANUP_ITERATIONS
) -> np.ndarray:
    """The cell mask (bool, H x W) of one phase-contrast frame. `size` and `iterations`
    of the clean-up default to the reference's; smaller cells (low magnification)
    need a smaller clean-up, or opening erases them."""
    values = log_std(frame)
    mask = values > histogram_threshold(values)
    mask = morphology.fill_holes(mask)
    return morphology.open_then_close_square(mask, size, iterations)


# Every segmentation method by name: the one registry (the config's choices, its
# schema's description and the pipeline read it). Adding a method: a function
# (frame -> bool mask, same signature as segment_logstd) and its name here.
SEGMENTERS = {"logstd": segment_logstd}
