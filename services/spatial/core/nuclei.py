"""A batch of segmented nuclei as columns, and its geometry as WKB for binary COPY.

Columns (numpy arrays) rather than one object per nucleus: a viewport yields
tens of thousands of nuclei, and shapely encodes whole arrays at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from common.errors import InvalidArgument
from services.spatial.core.cell_types import CELL_TYPES

# WKB of a 2-D point: byte order (1 = little-endian), geometry type (1), x, y; packed.
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


@dataclass
class NucleiBatch:
    """Nuclei in level-0 pixels: centroid, type, probability, morphometrics, outline."""

    x: np.ndarray  # float64
    y: np.ndarray  # float64
    cell_type: np.ndarray  # int16, 0..5
    probability: np.ndarray  # float32, 0..1
    area_um2: np.ndarray  # float32
    perimeter_um: np.ndarray  # float32
    # One (k, 2) array of vertices per nucleus, or None (no outlines).
    contours: Sequence[np.ndarray | None] | None = None

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, np.float64)
        self.y = np.asarray(self.y, np.float64)
        self.cell_type = np.asarray(self.cell_type, np.int16)
        self.probability = np.asarray(self.probability, np.float32)
        self.area_um2 = np.asarray(self.area_um2, np.float32)
        self.perimeter_um = np.asarray(self.perimeter_um, np.float32)
        n = len(self.x)
        columns = (self.y, self.cell_type, self.probability, self.area_um2, self.perimeter_um)
        if any(len(column) != n for column in columns) or (
            self.contours is not None and len(self.contours) != n
        ):
            raise InvalidArgument("every column of a nuclei batch must have one value per nucleus")
        if n and not (np.isfinite(self.x).all() and np.isfinite(self.y).all()):
            raise InvalidArgument("nucleus centroids must be finite")
        if n and (self.cell_type.min() < 0 or self.cell_type.max() >= len(CELL_TYPES)):
            raise InvalidArgument(f"cell types must lie in 0..{len(CELL_TYPES) - 1}")
        if n and not ((self.probability >= 0) & (self.probability <= 1)).all():
            raise InvalidArgument("probabilities must lie in [0, 1]")

    def __len__(self) -> int:
        return len(self.x)

    def counts(self) -> list[int]:
        """Nuclei per cell type, index = type."""
        return np.bincount(self.cell_type, minlength=len(CELL_TYPES)).tolist()

    def inside(self, x_min: float, y_min: float, x_max: float, y_max: float) -> np.ndarray:
        """Mask of centroids in the half-open rectangle."""
        return (self.x >= x_min) & (self.x < x_max) & (self.y >= y_min) & (self.y < y_max)

    def __getitem__(self, part: slice | np.ndarray) -> NucleiBatch:
        """Some nuclei: a slice, or an array of indices."""
        contours = self.contours
        if contours is not None:
            contours = contours[part] if isinstance(part, slice) else [contours[i] for i in part]
        return NucleiBatch(
            self.x[part],
            self.y[part],
            self.cell_type[part],
            self.probability[part],
            self.area_um2[part],
            self.perimeter_um[part],
            contours,
        )

    def cell_counts(
        self, cell: float, cx0: int, cy0: int, cx1: int, cy1: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nuclei per type in the cells (x // cell, y // cell) of the index range
        [cx0, cx1) x [cy0, cy1) that hold any: (cy, cx, counts of shape (n, 6))."""
        cx = np.floor(self.x / cell).astype(np.int64)
        cy = np.floor(self.y / cell).astype(np.int64)
        keep = (cx >= cx0) & (cx < cx1) & (cy >= cy0) & (cy < cy1)
        width = cx1 - cx0
        keys, inverse = np.unique((cy[keep] - cy0) * width + (cx[keep] - cx0), return_inverse=True)
        types = len(CELL_TYPES)
        counts = np.bincount(inverse * types + self.cell_type[keep], minlength=len(keys) * types)
        return keys // width + cy0, keys % width + cx0, counts.reshape(-1, types)

    def in_grid_order(self, cell: float) -> NucleiBatch:
        """The nuclei row by row of a `cell`-pixel grid: stored in this order,
        the rows of a region lie on few pages of the table."""
        return self[np.lexsort((self.x // cell, self.y // cell))]

    def centroid_wkb(self) -> np.ndarray:
        """Each centroid as little-endian WKB Point, written straight by numpy."""
        wkb = np.empty(len(self), _WKB_POINT)
        wkb["order"], wkb["type"], wkb["x"], wkb["y"] = 1, 1, self.x, self.y
        return wkb.view(f"V{_WKB_POINT.itemsize}")

    def contour_wkb(self) -> np.ndarray:
        """Each outline as WKB polygon; invalid ones repaired, degenerate ones None.

        Outlines star-shaped around their vertex mean (most nuclei) are valid
        polygons for certain: numpy writes their WKB. GEOS builds, checks and
        repairs the rest.
        """
        wkb = np.full(len(self), None, dtype=object)
        if self.contours is None:
            return wkb
        lengths = np.fromiter(
            (0 if c is None else len(c) for c in self.contours), np.int64, len(self)
        )
        rest = np.ones(len(self), bool)
        for k in np.unique(lengths[lengths >= 3]).tolist():
            group = np.flatnonzero(lengths == k)
            rings = np.stack([self.contours[i] for i in group.tolist()]).astype(np.float64)
            simple = star_shaped(rings)
            wkb[group[simple]] = _polygon_wkb(rings[simple]).tolist()
            rest[group[simple]] = False
        if rest.any():
            others = np.flatnonzero(rest)
            wkb[others] = shapely.to_wkb(contour_polygons([self.contours[i] for i in others]))
        return wkb


def star_shaped(rings: np.ndarray) -> np.ndarray:
    """Which rings of shape (n, k, 2) (open: last vertex != first) are simple
    polygons for certain: seen from their vertex mean, the vertices turn one way
    by a clear margin at every step, once round in all. Each edge then sweeps
    its own sector around that point, so no two edges meet but at a shared vertex."""
    if not len(rings):
        return np.zeros(0, bool)
    x = rings[..., 0] - rings[..., 0].mean(axis=1, keepdims=True)
    y = rings[..., 1] - rings[..., 1].mean(axis=1, keepdims=True)
    next_x = np.concatenate([x[:, 1:], x[:, :1]], axis=1)
    next_y = np.concatenate([y[:, 1:], y[:, :1]], axis=1)
    cross = x * next_y - y * next_x
    # Margin far above the rounding of the subtraction, even far from the origin.
    margin = 1e-7 * (x * x + y * y + next_x * next_x + next_y * next_y)
    turn = np.arctan2(cross, x * next_x + y * next_y).sum(axis=1)
    with np.errstate(invalid="ignore"):
        anticlockwise = (cross > margin).all(axis=1) & (np.abs(turn - 2 * np.pi) < np.pi)
        clockwise = (-cross > margin).all(axis=1) & (np.abs(turn + 2 * np.pi) < np.pi)
    return np.isfinite(rings).all(axis=(1, 2)) & (anticlockwise | clockwise)


def _polygon_wkb(rings: np.ndarray) -> np.ndarray:
    """Little-endian WKB of one-ring polygons from open rings (n, k, 2), closed
    here as GEOS closes them: as shapely.to_wkb writes them, one bytes each."""
    n, k, _ = rings.shape
    layout = np.dtype(
        [
            ("order", "u1"),
            ("type", "<u4"),
            ("rings", "<u4"),
            ("points", "<u4"),
            ("coords", "<f8", (k + 1, 2)),
        ]
    )
    wkb = np.empty(n, layout)
    wkb["order"], wkb["type"], wkb["rings"], wkb["points"] = 1, 3, 1, k + 1
    wkb["coords"][:, :k] = rings
    wkb["coords"][:, k] = rings[:, 0]
    return wkb.view(f"V{layout.itemsize}")


def contour_polygons(contours: Sequence[np.ndarray | None]) -> np.ndarray:
    """Outlines as valid polygons (an object array, None where there is none).

    An invalid outline (self-touching, a figure eight) is repaired with GEOS
    make_valid, PostGIS's ST_MakeValid, and the largest polygon of the result
    kept, so the nucleus keeps a contour instead of being dropped. An outline
    with no area left (fewer than three distinct vertices) is None.
    """
    polygons = np.full(len(contours), None, dtype=object)
    lengths = np.fromiter(
        (0 if contour is None else len(contour) for contour in contours), np.int64, len(contours)
    )
    usable = np.flatnonzero(lengths >= 3)
    if not len(usable):
        return polygons
    coords = np.concatenate([contours[index] for index in usable]).astype(np.float64, copy=False)
    ring_index = np.repeat(np.arange(len(usable)), lengths[usable])
    built = shapely.polygons(shapely.linearrings(coords.reshape(-1, 2), indices=ring_index))
    invalid = ~shapely.is_valid(built)
    if invalid.any():
        repaired = shapely.make_valid(built[invalid])
        built[invalid] = [largest_polygon(geometry) for geometry in repaired]
    polygons[usable] = built
    return polygons


def largest_polygon(geometry: shapely.Geometry) -> shapely.Polygon | None:
    """The polygon of largest area in a (possibly nested) collection; None if none has area."""
    if isinstance(geometry, shapely.Polygon):
        return geometry if geometry.area > 0 else None
    best: shapely.Polygon | None = None
    for part in getattr(geometry, "geoms", ()):
        candidate = largest_polygon(part)
        if candidate is not None and (best is None or candidate.area > best.area):
            best = candidate
    return best
