"""The whole pipeline around the network, checked against painted nuclei.

An oracle stands in for HoVerNet (testing/oracle.py): it sees only pixels, read
from real pyramidal TIFFs through OpenSlide. Nuclei lie across patch seams
(vertical, horizontal, corners), across tile seams, on the requested
rectangle's edges and at the slide's border; each must come back exactly once,
whole, at the right place, with the right type and area, and nothing else.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import openslide
import pytest

from services.inference.core import (
    ModelSpec,
    NucleiFound,
    Progress,
    SegmentationConfig,
    SlideFacts,
    Summary,
    plan_region,
    segment_region,
)
from testing.oracle import OraclePredictor
from tests.inference.synthetic import TrueNucleus, paint, true_contour_area, write_aperio

SPEC = ModelSpec()
PATCH = SPEC.patch_output
RADIUS_UM = 2.0
WIDTH, HEIGHT = 1400, 1100
# Level-0 rectangle asked for; right and bottom run past the slide (clamped to it).
REQUEST = (100, 80, 5000, 5000)
TILE = 300  # model pixels: 2 x 2 tiles and more


def layout(mpp: float | None) -> list[TrueNucleus]:
    """Nuclei on every kind of seam and edge, for a slide at `mpp` (None: level 0 as is)."""
    scale = 0.25 / mpp if mpp else 1.0
    radius = RADIUS_UM / 0.25 * scale  # level-0 pixels
    x0, y0 = REQUEST[0], REQUEST[1]
    region_w, region_h = (WIDTH - x0) / scale, (HEIGHT - y0) / scale  # model pixels
    columns, rows = math.ceil(region_w / TILE), math.ceil(region_h / TILE)
    seams_x = [x0 / scale + region_w * k / columns for k in range(1, columns)]
    seams_y = [y0 / scale + region_h * k / rows for k in range(1, rows)]
    spots: list[tuple[float, float]] = []  # model space
    spots += [(PATCH * k, 230.0 + 9 * k) for k in (2, 3, 4, 5)]  # vertical patch seams
    spots += [(610.0 + 11 * k, PATCH * k) for k in (2, 3, 4)]  # horizontal patch seams
    spots += [(PATCH * 2, PATCH * 4), (PATCH * 5, PATCH * 2)]  # patch corners
    spots += [(sx, 470.0) for sx in seams_x] + [(380.0, sy) for sy in seams_y]  # tile seams
    spots += [(seams_x[0], seams_y[-1])]  # a tile corner
    nuclei: list[TrueNucleus] = []
    for i, (mx, my) in enumerate(spots):
        candidate = TrueNucleus(mx * scale, my * scale, radius, 1 + i % 5)
        on_slide = radius + 2 < candidate.x < WIDTH - radius - 2
        on_slide &= radius + 2 < candidate.y < HEIGHT - radius - 2
        gaps = [math.hypot(candidate.x - n.x, candidate.y - n.y) for n in nuclei]
        apart = all(gap > 2 * radius + 4 for gap in gaps)
        if on_slide and apart:
            nuclei.append(candidate)
    # On the requested rectangle's left and top edges: centroid just inside, just outside.
    nuclei += [
        TrueNucleus(x0 + 3, 500, radius, 2),
        TrueNucleus(x0 - 3, 700, radius, 3),
        TrueNucleus(600, y0 + 2, radius, 4),
        TrueNucleus(800, y0 - 2, radius, 5),
    ]
    # At the slide's right and bottom border (the clamped rectangle's edges).
    nuclei += [
        TrueNucleus(WIDTH - radius - 2, 640, radius, 1),
        TrueNucleus(720, HEIGHT - radius - 2, radius, 2),
    ]
    return nuclei


def inside_request(nucleus: TrueNucleus) -> bool:
    x0, y0 = REQUEST[:2]
    return x0 <= nucleus.x + 0.5 < WIDTH and y0 <= nucleus.y + 0.5 < HEIGHT


def openslide_reader(slide: openslide.OpenSlide):
    def read(level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        d = slide.level_downsamples[level]
        size = (math.ceil(width / d), math.ceil(height / d))
        return np.asarray(slide.read_region((x, y), level, size).convert("RGB"))

    return read


def run(path: Path, mpp: float | None, nuclei: list[TrueNucleus]):
    config = SegmentationConfig(batch_size=5, tile_size=TILE, margin=48)
    with openslide.OpenSlide(path) as slide:
        facts = SlideFacts(WIDTH, HEIGHT, mpp, tuple(slide.level_downsamples))
        plan = plan_region(facts, *REQUEST, SPEC, config)
        events = []
        summary = segment_region(
            plan, facts, SPEC, OraclePredictor(), openslide_reader(slide), config, events.append
        )
    return plan, summary, events


@pytest.mark.parametrize(
    ("mpp", "level", "label"),
    [
        (0.2, 0, "level 0 resampled by 1.25"),
        (0.125, 1, "level 1 read as it is (downsample 2 = 0.25 um/px)"),
        (None, 0, "no MPP: level 0 as it is"),
    ],
)
def test_every_painted_nucleus_comes_back_once_whole_and_in_place(
    tmp_path: Path, mpp: float | None, level: int, label: str
) -> None:
    nuclei = layout(mpp)
    path = write_aperio(tmp_path / "painted.tif", paint(WIDTH, HEIGHT, nuclei), mpp)
    plan, summary, events = run(path, mpp, nuclei)

    assert plan.resolution.level == level, label
    assert (plan.x, plan.y, plan.width, plan.height) == (100, 80, WIDTH - 100, HEIGHT - 80)
    assert len(plan.tiles) >= 4
    found = [n for e in events if isinstance(e, NucleiFound) for n in e.nuclei]
    expected = [n for n in nuclei if inside_request(n)]
    assert len(expected) < len(nuclei)  # some painted nuclei lie outside on purpose
    assert len(expected) >= 12
    assert summary.total_nuclei == len(found) == len(expected)
    scale = plan.resolution.scale
    for truth in expected:
        near = [n for n in found if math.hypot(n.x - truth.x, n.y - truth.y) < truth.radius]
        assert len(near) == 1, (truth, near)
        nucleus = near[0]
        # Centroid within a model pixel, type and probability exact.
        assert math.hypot(nucleus.x - truth.x, nucleus.y - truth.y) < 0.6 * scale, (truth, nucleus)
        assert nucleus.cell_type == truth.cell_type
        assert nucleus.cell_type_name == SPEC.type_names[truth.cell_type]
        assert nucleus.probability == pytest.approx(1.0, abs=1e-3)
        # The whole contour, even where it reaches outside the rectangle.
        x_min, y_min, x_max, y_max = nucleus.bounds
        reach = truth.radius - 1.5 * scale
        assert x_min <= truth.x - reach and x_max >= truth.x + reach
        assert y_min <= truth.y - reach and y_max >= truth.y + reach
        true_area = true_contour_area(truth, (HEIGHT, WIDTH))
        assert nucleus.area_px == pytest.approx(true_area, rel=0.12)
        if mpp:
            assert nucleus.area_um2 == pytest.approx(nucleus.area_px * mpp * mpp)
            assert nucleus.perimeter_um == pytest.approx(2 * math.pi * truth.radius * mpp, rel=0.15)
        else:
            assert nucleus.area_um2 == nucleus.perimeter_um == 0
    if mpp is None:
        assert any("no MPP" in note for note in summary.notes)

    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].current == progress[-1].total == summary.patches
    assert plan.patches <= summary.patches <= plan.most_patches
    assert [p.current for p in progress] == sorted(p.current for p in progress)
    assert isinstance(events[-1], Summary)


def test_nothing_grows_out_of_padding(tmp_path: Path) -> None:
    """A slide whose border is dark to the edge: mirrored padding would show ghost
    nuclei beyond it; white, masked padding shows none beyond the slide."""
    image = paint(WIDTH, HEIGHT, [])
    image[:, -6:] = (40, 20, 90)  # a dark band along the right border
    path = write_aperio(tmp_path / "border.tif", image, 0.25)
    config = SegmentationConfig(batch_size=8, tile_size=2048, margin=48)
    with openslide.OpenSlide(path) as slide:
        facts = SlideFacts(WIDTH, HEIGHT, 0.25, tuple(slide.level_downsamples))
        plan = plan_region(facts, WIDTH - 300, 0, 300, 300, SPEC, config)
        events = []
        segment_region(
            plan, facts, SPEC, OraclePredictor(), openslide_reader(slide), config, events.append
        )
    found = [n for e in events if isinstance(e, NucleiFound) for n in e.nuclei]
    for nucleus in found:
        assert nucleus.bounds[2] < WIDTH, nucleus
