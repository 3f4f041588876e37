"""The patch plan: a region runs only the patches its nuclei can need."""

from __future__ import annotations

from services.inference.core import ModelSpec, SegmentationConfig, SlideFacts, plan_region

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
