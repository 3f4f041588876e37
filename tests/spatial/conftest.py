"""The spatial core against a real PostGIS, and synthetic nuclei with known ground truth."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from common.db import open_service_database
from services.spatial.core import Bounds, NucleiBatch, SpatialStore, register_geometry_codec
from services.spatial.service import MIGRATIONS
from tests.harness import LoopThread


@pytest.fixture(scope="module")
def store(loop_thread: LoopThread, database_url: str) -> Iterator[SpatialStore]:
    """The core's store on a schema of its own (the platform's spatial service
    uses `spatial` in the same database)."""
    schema = f"spatial_core_{uuid.uuid4().hex[:8]}"
    pool = loop_thread.run(
        open_service_database(database_url, schema, [MIGRATIONS], init=register_geometry_codec)
    )
    yield SpatialStore(pool)
    loop_thread.run(pool.close())


def synthetic_nuclei(
    rng: np.random.Generator, bounds: Bounds, n: int, *, contours: bool = False
) -> NucleiBatch:
    """`n` nuclei with centroids uniform in `bounds` (half-open), random types,
    and, if asked, 8-vertex outlines of radius 4 around each centroid."""
    x = rng.uniform(bounds.x_min, bounds.x_max, n)
    y = rng.uniform(bounds.y_min, bounds.y_max, n)
    x = np.minimum(x, np.nextafter(bounds.x_max, -np.inf))
    y = np.minimum(y, np.nextafter(bounds.y_max, -np.inf))
    outlines = None
    if contours:
        angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        ring = np.stack([4 * np.cos(angles), 4 * np.sin(angles)], axis=1)
        outlines = [ring + np.array([cx, cy]) for cx, cy in zip(x, y, strict=True)]
    return NucleiBatch(
        x=x,
        y=y,
        cell_type=rng.integers(0, 6, n),
        probability=rng.uniform(0.5, 1.0, n),
        area_um2=rng.uniform(10, 80, n),
        perimeter_um=rng.uniform(10, 40, n),
        contours=outlines,
    )


@dataclass
class GroundTruth:
    """Every box of a slide, oldest first, with its nuclei: the brute-force answer."""

    boxes: list[tuple[str, Bounds, NucleiBatch]]

    def visible_counts(self, roi: Bounds) -> np.ndarray:
        """Per type: nuclei in `roi` whose centroid no newer box holds."""
        counts = np.zeros(6, np.int64)
        for index, (_, _, nuclei) in enumerate(self.boxes):
            keep = nuclei.inside(roi.x_min, roi.y_min, roi.x_max, roi.y_max)
            for _, newer, _ in self.boxes[index + 1 :]:
                keep &= ~nuclei.inside(newer.x_min, newer.y_min, newer.x_max, newer.y_max)
            counts += np.bincount(nuclei.cell_type[keep], minlength=6)
        return counts

    def remove(self, box_id: str) -> None:
        self.boxes = [box for box in self.boxes if box[0] != box_id]
