"""Synthetic time-lapses of cells with known truth, for tests and the benchmark.

Each cell is an ellipse that moves, may appear late, vanish for some frames,
or divide (the mother ends, two daughters start beside it). The phase channel
shows cells as textured regions on a quiet background (what `logstd` sees);
the fluorescence channel adds a known total to a core inside each cell, on a
smooth background gradient. `truth_labels(t)` gives the true masks, value =
cell id + 1, so segmentation, tracking and extraction can all be scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

PHASE_LEVEL = 1000.0
PHASE_NOISE = 8.0  # quiet background
CELL_TEXTURE = 120.0  # cells: high local variance
FLUOR_NOISE = 4.0
FLUOR_CORE = 0.7  # fluorescent core, as a fraction of the cell's radii


@dataclass(frozen=True)
class SyntheticCell:
    """One cell: an ellipse (semi-axes ry, rx) centred at (y, x) + t' * (vy, vx)."""

    id: int
    y: float
    x: float
    ry: float
    rx: float
    start: int = 0  # first frame
    end: int | None = None  # frame after the last (None: to the end)
    vy: float = 0.0
    vx: float = 0.0
    missing: tuple[int, ...] = ()  # frames in which the cell is not visible
    parent: int | None = None
    fluorescence_total: float = 200_000.0

    def present(self, t: int) -> bool:
        return self.start <= t < (self.end if self.end is not None else 1 << 30) and (
            t not in self.missing
        )

    def centre(self, t: int) -> tuple[float, float]:
        dt = t - self.start
        return self.y + dt * self.vy, self.x + dt * self.vx


def _ellipse(cell: SyntheticCell, t: int, shape: tuple[int, int], scale: float = 1.0):
    """(slices, mask) of the cell's ellipse at frame t, clipped to the frame."""
    cy, cx = cell.centre(t)
    ry, rx = cell.ry * scale, cell.rx * scale
    y0, y1 = max(0, math.floor(cy - ry)), min(shape[0], math.ceil(cy + ry) + 1)
    x0, x1 = max(0, math.floor(cx - rx)), min(shape[1], math.ceil(cx + rx) + 1)
    yy, xx = np.ogrid[y0:y1, x0:x1]
    mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    return (slice(y0, y1), slice(x0, x1)), mask


@dataclass
class SyntheticMovie:
    """A movie of `cells`; frames are generated on demand, deterministically from `seed`."""

    cells: Sequence[SyntheticCell]
    n_frames: int
    height: int
    width: int
    seed: int = 0
    # (height, width) -> the true fluorescence background; None: a gentle gradient
    background_field: Callable[[int, int], np.ndarray] | None = None
    _gradient: np.ndarray | None = field(default=None, init=False, repr=False)

    def background(self) -> np.ndarray:
        """The fluorescence background: `background_field`, else a smooth tilted and
        curved gradient."""
        if self._gradient is None and self.background_field is not None:
            field_ = self.background_field(self.height, self.width)
            self._gradient = np.asarray(field_, np.float64)
        if self._gradient is None:
            yy, xx = np.mgrid[: self.height, : self.width].astype(np.float64)
            h, w = self.height, self.width
            self._gradient = 150.0 + 120.0 * xx / w + 60.0 * yy / h + 80.0 * ((xx - w / 2) / w) ** 2
        return self._gradient

    def _rng(self, t: int, channel: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, t, channel])

    def phase(self, t: int) -> np.ndarray:
        rng = self._rng(t, 0)
        frame = rng.normal(PHASE_LEVEL, PHASE_NOISE, (self.height, self.width))
        for cell in self.cells:
            if cell.present(t):
                where, mask = _ellipse(cell, t, frame.shape)
                patch = frame[where]
                patch[mask] = rng.normal(PHASE_LEVEL, CELL_TEXTURE, int(mask.sum()))
        return np.clip(np.rint(frame), 0, 65535).astype(np.uint16)

    def fluorescence(self, t: int) -> np.ndarray:
        rng = self._rng(t, 1)
        frame = self.background() + rng.normal(0.0, FLUOR_NOISE, (self.height, self.width))
        for cell in self.cells:
            if cell.present(t):
                where, mask = _ellipse(cell, t, frame.shape, FLUOR_CORE)
                frame[where][mask] += cell.fluorescence_total / mask.sum()
        return np.clip(np.rint(frame), 0, 65535).astype(np.uint16)

    def truth_labels(self, t: int) -> np.ndarray:
        """The true masks of frame t: cell id + 1, 0 = background."""
        labels = np.zeros((self.height, self.width), dtype=np.int32)
        for cell in self.cells:
            if cell.present(t):
                where, mask = _ellipse(cell, t, labels.shape)
                labels[where][mask] = cell.id + 1
        return labels

    def write_ome_tiff(self, path: str | Path) -> Path:
        """Write the movie as a T x C x Y x X OME-TIFF (C0 phase, C1 fluorescence),
        frame by frame, with 10-minute frame intervals."""
        path = Path(path)

        def planes() -> Iterator[np.ndarray]:
            for t in range(self.n_frames):
                yield self.phase(t)
                yield self.fluorescence(t)

        tifffile.imwrite(
            path,
            data=planes(),
            shape=(self.n_frames, 2, self.height, self.width),
            dtype=np.uint16,
            ome=True,
            photometric="minisblack",
            metadata={
                "axes": "TCYX",
                "Channel": {"Name": ["phase", "gfp"]},
                "Plane": {
                    "DeltaT": [float(t * 600) for t in range(self.n_frames) for _ in (0, 1)],
                    "DeltaTUnit": ["s"] * (2 * self.n_frames),
                },
            },
        )
        return path


def dividing(
    mother_id: int, y: float, x: float, at: int, daughter_ids: tuple[int, int], **kwargs
) -> list[SyntheticCell]:
    """A mother (elongated along x) that ends at frame `at` and two round daughters
    that start there inside her outline, 48 px apart along x (far enough apart for
    the reference's 19 px closing to keep them separate), moving apart."""
    mother = SyntheticCell(mother_id, y, x, ry=16, rx=36, end=at, **kwargs)
    left = SyntheticCell(
        daughter_ids[0], y, x - 24, ry=14, rx=13, start=at, vx=-1.0, parent=mother_id
    )
    right = SyntheticCell(
        daughter_ids[1], y, x + 24, ry=14, rx=13, start=at, vx=1.0, parent=mother_id
    )
    return [mother, left, right]


def scattered_cells(
    n_cells: int, height: int, width: int, seed: int = 0, margin: int = 80
) -> list[SyntheticCell]:
    """About `n_cells` drifting cells on a jittered grid (for the benchmark)."""
    rng = np.random.default_rng(seed)
    per_row = max(1, round(math.sqrt(n_cells * width / height)))
    rows = max(1, math.ceil(n_cells / per_row))
    step_y, step_x = (height - 2 * margin) / rows, (width - 2 * margin) / per_row
    cells = []
    for i in range(n_cells):
        r, c = divmod(i, per_row)
        cells.append(
            SyntheticCell(
                i,
                margin + (r + 0.5) * step_y + rng.uniform(-8, 8),
                margin + (c + 0.5) * step_x + rng.uniform(-8, 8),
                ry=rng.uniform(12, 18),
                rx=rng.uniform(12, 22),
                vy=rng.uniform(-1, 1),
                vx=rng.uniform(-1, 1),
                fluorescence_total=rng.uniform(5e4, 2e5),
            )
        )
    return cells
