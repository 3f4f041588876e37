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

    def centroid_wkb(self) -> np.ndarray:
        return shapely.to_wkb(shapely.points(self.x, self.y))

    def contour_wkb(self) -> list[bytes | None]:
        """Each outline as WKB polygon; invalid ones repaired, degenerate ones None."""
        if self.contours is None:
            return [None] * len(self)
        return [
            None if polygon is None else shapely.to_wkb(polygon)
            for polygon in contour_polygons(self.contours)
        ]


def contour_polygons(contours: Sequence[np.ndarray | None]) -> list[shapely.Polygon | None]:
    """Outlines as valid polygons.

    An invalid outline (self-touching, a figure eight) is repaired with GEOS
    make_valid, PostGIS's ST_MakeValid, and the largest polygon of the result
    kept, so the nucleus keeps a contour instead of being dropped. An outline
    with no area left (fewer than three distinct vertices) is None.
    """
    polygons: list[shapely.Polygon | None] = [None] * len(contours)
    usable = [
        index for index, contour in enumerate(contours) if contour is not None and len(contour) >= 3
    ]
    if not usable:
        return polygons
    rings = [np.asarray(contours[index], np.float64).reshape(-1, 2) for index in usable]
    coords = np.concatenate(rings)
    ring_index = np.repeat(np.arange(len(rings)), [len(ring) for ring in rings])
    built = shapely.polygons(shapely.linearrings(coords, indices=ring_index))
    valid = shapely.is_valid(built)
    for index, polygon, ok in zip(usable, built, valid, strict=True):
        polygons[index] = polygon if ok else largest_polygon(shapely.make_valid(polygon))
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
