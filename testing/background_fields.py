"""Fluorescence backgrounds with known truth, and dim cells where they are hardest to
correct (corners, frame edges), for the background tests and the workflow benchmark.

A field is a function (height, width) -> the true background (float64), written in
fractions of the frame so that it has the same shape at every size:

- `flat`: one level, not an integer (a median of integer pixels is off by up to half
  a count there);
- `linear`: a plain tilt, about 0.5 count per pixel along x on 768 px frames;
- `curved`: a tilt and a bowl;
- `uneven`: what stray light and uneven illumination give: a steep tilt, strong
  curvature and a bright corner (top right).

`background_errors` scores a background map: each cell's fluorescence total measured
with it against the truth, as fractions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from testing.synthetic_movie import SyntheticCell


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    return yy / h, xx / w


def flat(h: int, w: int) -> np.ndarray:
    return np.full((h, w), 200.37)


def linear(h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    return 150.0 + 400.0 * x + 150.0 * y


def curved(h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    return 150.0 + 120.0 * x + 60.0 * y + 600.0 * (x - 0.5) ** 2 + 400.0 * (y - 0.5) ** 2


def uneven(h: int, w: int) -> np.ndarray:
    y, x = _grid(h, w)
    corner = np.exp(-((x - 1.0) ** 2 + y**2) / (2 * 0.3**2))
    return (
        200.0
        + 250.0 * x
        + 120.0 * y
        + 500.0 * (x - 0.35) ** 2
        + 300.0 * (y - 0.6) ** 2
        + 900.0 * corner
    )


FIELDS: dict[str, Callable[[int, int], np.ndarray]] = {
    "flat": flat,
    "linear": linear,
    "curved": curved,
    "uneven": uneven,
}

DIM_TOTAL = 20_000.0  # a dim cell: ~50 counts per pixel of its core above the background


def hard_cells(
    height: int, width: int, n_inner: int = 12, seed: int = 0, total: float = DIM_TOTAL
) -> list[SyntheticCell]:
    """Still, dim cells: one in each corner, one cut by each frame edge, and `n_inner`
    on a jittered grid inside."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    places = [(30, 32), (34, w - 30), (h - 32, 30), (h - 30, w - 34)]  # corners
    places += [(0, w * 0.45), (h * 0.55, w - 4), (h - 2, w * 0.6), (h * 0.4, 3)]  # edges
    per_row = max(1, round(np.sqrt(n_inner * w / h)))
    rows = max(1, -(-n_inner // per_row))
    for i in range(n_inner):
        r, c = divmod(i, per_row)
        places.append(
            (
                100 + (r + 0.5) * (h - 200) / rows + rng.uniform(-10, 10),
                100 + (c + 0.5) * (w - 200) / per_row + rng.uniform(-10, 10),
            )
        )
    return [
        SyntheticCell(i, float(y), float(x), ry=rng.uniform(11, 15), rx=rng.uniform(11, 17),
                      fluorescence_total=total)
        for i, (y, x) in enumerate(places)
    ]  # fmt: skip


def background_errors(
    labels: np.ndarray, truth: np.ndarray, estimate: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """Per cell (label k + 1 -> entry k): the error its fluorescence total gets from
    `estimate` in place of the true background, as a fraction of `totals[k]`. The
    total is a sum of I - B over the cell, so the error is the sum of B_true - B."""
    n = len(totals)
    difference = (truth - estimate).astype(np.float64).ravel()
    sums = np.bincount(labels.ravel(), weights=difference, minlength=n + 1)[1 : n + 1]
    return sums / np.asarray(totals, np.float64)
