"""The patch plan: a region runs only the patches its nuclei need."""

from __future__ import annotations

import numpy as np
import pytest

from services.inference.core import (
    ModelSpec,
    NucleiFound,
    Progress,
    SegmentationConfig,
    SlideFacts,
    plan_region,
    segment_region,
)
from testing.oracle import OraclePredictor
from tests.inference.synthetic import TrueNucleus, paint, true_contour_area

SPEC = ModelSpec()
CONFIG = SegmentationConfig(tile_size=2048, margin=64)


def test_a_region_at_the_slides_corner_runs_no_patch_beyond_the_slide() -> None:
    # 400 px from the slide's own corner: 3 x 3 patches of 164 px cover it and its
    # right and bottom margins; a row and a column beyond the slide's top and left
    # edges (where no nucleus can lie) would make it 4 x 4.
    slide = SlideFacts(5000, 5000, 0.25, (1.0,))
    plan = plan_region(slide, 0, 0, 400, 400, SPEC, CONFIG)
    (tile,) = plan.tiles
    assert (tile.grid.c0, tile.grid.r0, tile.grid.columns, tile.grid.rows) == (0, 0, 3, 3)
    assert plan.patches == 9


def test_a_region_at_the_slides_far_edges_stops_there() -> None:
    # The slide ends at 480 px, inside patch column 2 ([328, 492)): the 64 px margin
    # past the region's right and bottom edges would reach into column 3.
    slide = SlideFacts(480, 480, 0.25, (1.0,))
    plan = plan_region(slide, 200, 200, 280, 280, SPEC, CONFIG)
    (tile,) = plan.tiles
    assert (tile.grid.c0, tile.grid.c1, tile.grid.r0, tile.grid.r1) == (0, 3, 0, 3)


def test_inside_the_slide_the_margin_holds_on_every_side() -> None:
    slide = SlideFacts(5000, 5000, 0.25, (1.0,))
    plan = plan_region(slide, 1000, 1000, 400, 400, SPEC, CONFIG)
    (tile,) = plan.tiles
    canvas = tile.grid.canvas
    assert canvas.x0 <= 1000 - 64 and canvas.y0 <= 1000 - 64
    assert canvas.x1 >= 1400 + 64 and canvas.y1 >= 1400 + 64


@pytest.mark.parametrize(
    ("size", "first", "most"),
    [
        # Box [1000, 1000 + size): its own patches start at column 6 ([984, 1148)); the
        # 64 px margin reaches 936, into column 5 (and for 256 px past 1312, into
        # column 8): the margin's ring would more than double a small box's patches.
        (256, 2 * 2, 4 * 4),
        (400, 3 * 3, 4 * 4),
        (1024, 7 * 7, 8 * 8),
    ],
)
def test_a_box_in_the_middle_of_a_slide_plans_only_its_own_patches(size, first, most) -> None:
    slide = SlideFacts(5000, 5000, 0.25, (1.0,))
    plan = plan_region(slide, 1000, 1000, size, size, SPEC, CONFIG)
    assert (plan.patches, plan.most_patches) == (first, most)


class PatchCounter(OraclePredictor):
    def __init__(self) -> None:
        super().__init__()
        self.patches = 0

    def predict(self, batches, cancelled=None):
        for batch in batches:
            self.patches += len(batch)
            yield from super().predict([batch], cancelled)


def segment_box(nuclei: list[TrueNucleus], box: tuple[int, int, int, int]):
    width = height = 1700
    image = paint(width, height, nuclei)

    def read(level: int, x: int, y: int, w: int, h: int) -> np.ndarray:
        return image[y : y + h, x : x + w]

    slide = SlideFacts(width, height, 0.25, (1.0,))
    plan = plan_region(slide, *box, SPEC, CONFIG)
    counter, events = PatchCounter(), []
    summary = segment_region(plan, slide, SPEC, counter, read, CONFIG, events.append)
    found = [n for e in events if isinstance(e, NucleiFound) for n in e.nuclei]
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].current == progress[-1].total == summary.patches == counter.patches
    return plan, counter.patches, found


def test_the_margin_runs_only_the_patches_a_nucleus_of_the_box_reaches() -> None:
    box = (1000, 1000, 400, 400)  # patches: columns and rows 6-8 own, 5 the margin's
    # Nothing near the box's edges: its own 3 x 3 patches, no margin.
    far = [TrueNucleus(1200, 1200, 8, 1), TrueNucleus(900, 900, 8, 2)]
    plan, patches, found = segment_box(far, box)
    assert (plan.patches, plan.most_patches, patches) == (9, 16, 9)
    assert [(n.x, n.y) for n in found] == [pytest.approx((1200, 1200), abs=0.5)]

    # A large nucleus owned by the box, across its left edge and past its own
    # patches' left edge (984), in margin row 7: that one margin patch runs, and
    # the nucleus comes back whole. One just outside the box is not reported.
    straddling = TrueNucleus(1004, 1230, 24, 3)
    outside = TrueNucleus(1300, 985, 8, 4)
    plan, patches, found = segment_box([straddling, outside, *far], box)
    assert patches == 10
    assert len(found) == 2
    (nucleus,) = [n for n in found if abs(n.x - 1004) < 2]
    assert (nucleus.x, nucleus.y) == (pytest.approx(1004, abs=0.5), pytest.approx(1230, abs=0.5))
    assert nucleus.bounds[0] <= 1004 - 23
    true_area = true_contour_area(straddling, (1700, 1700))
    assert nucleus.area_px == pytest.approx(true_area, rel=0.05)
