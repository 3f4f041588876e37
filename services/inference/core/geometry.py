"""Where things lie: level-0 pixels, model pixels, tiles and the patch grid.

Model space is the pixel grid the network sees: level 0 scaled by `scale`
(level-0 pixels per model pixel, e.g. 0.25 / 0.227 = 1.10). A pixel's centre
sits at index + 0.5 in continuous coordinates, in both spaces, so model index
`i` maps to level-0 index `(i + 0.5) * scale - 0.5`.

The patch grid is global (patch outputs start at multiples of the output edge
from model-space 0), so the maps of two tiles agree wherever they overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rect:
    """Half-open rectangle [x0, x1) x [y0, y1) (floats allowed)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= self.x0) & (x < self.x1) & (y >= self.y0) & (y < self.y1)

    def grown(self, by: float) -> Rect:
        return Rect(self.x0 - by, self.y0 - by, self.x1 + by, self.y1 + by)

    def intersection(self, other: Rect) -> Rect:
        return Rect(
            max(self.x0, other.x0),
            max(self.y0, other.y0),
            min(self.x1, other.x1),
            min(self.y1, other.y1),
        )


@dataclass(frozen=True)
class Resolution:
    """How a slide is read for the model: which level, and the resampling scale."""

    level: int
    level_downsample: float
    # Level-0 pixels per model pixel.
    scale: float
    # Microns per model pixel; None when the slide has no MPP (then scale is 1).
    mpp: float | None
    notes: tuple[str, ...] = ()


def choose_resolution(
    slide_mpp: float | None, level_downsamples: list[float], model_mpp: float
) -> Resolution:
    """The coarsest level still at least as fine as the model's resolution.

    Reading finer than needed and shrinking keeps detail; reading coarser would
    lose it. Without MPP the model runs on level 0 as it is.
    """
    if not slide_mpp or slide_mpp <= 0:
        return Resolution(
            level=0,
            level_downsample=1.0,
            scale=1.0,
            mpp=None,
            notes=(
                f"the slide has no MPP: segmented at level 0 as it is, not resampled to the "
                f"model's {model_mpp} um/px; areas and perimeters are 0",
            ),
        )
    scale = model_mpp / slide_mpp
    # A hair of tolerance: a level at 0.2501 um/px is the model's 0.25.
    best = max(
        (i for i, d in enumerate(level_downsamples) if d <= scale * 1.001),
        key=lambda i: level_downsamples[i],
        default=0,
    )
    notes: tuple[str, ...] = ()
    if scale < 1:
        notes = (
            f"the slide ({slide_mpp:.4f} um/px) is coarser than the model's {model_mpp} um/px: "
            f"level 0 is upsampled",
        )
    return Resolution(best, float(level_downsamples[best]), scale, model_mpp, notes)


@dataclass(frozen=True)
class PatchGrid:
    """The patches of one tile: outputs of `output` px on a global grid, inputs of
    `input` px centred on them."""

    input: int
    output: int
    # Global patch indices covered: columns c0..c1-1, rows r0..r1-1.
    c0: int
    r0: int
    c1: int
    r1: int

    @property
    def context(self) -> int:
        return (self.input - self.output) // 2

    @property
    def columns(self) -> int:
        return self.c1 - self.c0

    @property
    def rows(self) -> int:
        return self.r1 - self.r0

    @property
    def count(self) -> int:
        return self.columns * self.rows

    @property
    def canvas(self) -> Rect:
        """Model-space rectangle the stitched outputs cover."""
        o = self.output
        return Rect(self.c0 * o, self.r0 * o, self.c1 * o, self.r1 * o)

    @property
    def read(self) -> Rect:
        """Model-space rectangle of pixels the patches need (canvas plus context)."""
        return self.canvas.grown(self.context)

    def positions(self) -> list[tuple[int, int]]:
        """(row, column) of each patch within the tile, row-major."""
        return [(r, c) for r in range(self.rows) for c in range(self.columns)]


def patch_grid(area: Rect, patch_input: int, patch_output: int) -> PatchGrid:
    """The patches whose outputs cover the model-space `area`."""
    o = patch_output
    return PatchGrid(
        patch_input,
        patch_output,
        math.floor(area.x0 / o),
        math.floor(area.y0 / o),
        max(math.ceil(area.x1 / o), math.floor(area.x0 / o) + 1),
        max(math.ceil(area.y1 / o), math.floor(area.y0 / o) + 1),
    )


@dataclass(frozen=True)
class Tile:
    """One canvas of a region: nuclei whose centroid lies in `core` belong to it.

    `grid` is every patch the tile may run: `core` grown by the margin, so those
    nuclei are whole (the canvas). `first` is the patches over the core itself,
    always run; the rest, the margin's ring, run only where a nucleus reaching
    into the core needs them (segmentation.py decides, from the maps)."""

    index: int
    core: Rect
    grid: PatchGrid
    first: PatchGrid

    def first_positions(self) -> list[tuple[int, int]]:
        """(row, column) within `grid` of the patches over the core, row-major."""
        dr, dc = self.first.r0 - self.grid.r0, self.first.c0 - self.grid.c0
        return [(r + dr, c + dc) for r, c in self.first.positions()]


def plan_tiles(
    region: Rect,
    tile_size: int,
    margin: int,
    patch_input: int,
    patch_output: int,
    slide: Rect | None = None,
) -> list[Tile]:
    """Cut a model-space region into tiles of at most `tile_size` px of core each.

    Cores partition the region, so every centroid in the region has exactly one
    owner; `margin` must exceed the largest nucleus radius. The margin stops at
    the `slide`'s edge (model space): no nucleus lies beyond it, so patches whose
    outputs would all fall there are not planned. Of the margin's patches, only
    those a nucleus of the core reaches into are run (`Tile.first` up front).
    """
    columns = max(1, math.ceil(region.width / tile_size))
    rows = max(1, math.ceil(region.height / tile_size))
    xs = np.linspace(region.x0, region.x1, columns + 1)
    ys = np.linspace(region.y0, region.y1, rows + 1)
    tiles = []
    for r in range(rows):
        for c in range(columns):
            core = Rect(float(xs[c]), float(ys[r]), float(xs[c + 1]), float(ys[r + 1]))
            needed, own = core.grown(margin), core
            if slide is not None:
                needed, own = needed.intersection(slide), core.intersection(slide)
            grid = patch_grid(needed, patch_input, patch_output)
            first = patch_grid(own, patch_input, patch_output)
            tiles.append(Tile(len(tiles), core, grid, first))
    return tiles


def model_to_level0(values: np.ndarray, scale: float) -> np.ndarray:
    """Model-space pixel indices to level-0 pixel indices (centres map to centres)."""
    return (np.asarray(values, dtype=np.float64) + 0.5) * scale - 0.5


def level0_rect_to_model(x: int, y: int, width: int, height: int, scale: float) -> Rect:
    """A level-0 rectangle as a continuous model-space rectangle."""
    return Rect(x / scale, y / scale, (x + width) / scale, (y + height) / scale)
