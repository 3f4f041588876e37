"""The whole-slide analysis' pure parts: the tissue mask (real H&E pixels and
synthetic images with known tissue) and the region plan (a partition of the
tissue into half-open squares clamped to the slide)."""

from __future__ import annotations

import numpy as np
import openslide
import pytest
from skimage.transform import resize

from common.errors import InvalidArgument
from services.spatial.core.regions import (
    MAX_REGION_SIZE,
    MIN_REGION_SIZE,
    plan_regions,
    region_area_mm2,
)
from services.spatial.core.tissue import tissue_mask
from tests.conftest import SHARED_DATA

REAL_HE = SHARED_DATA / "wsi" / "derived-OS-1-detail.generic-tiled.tif"
GLASS = (242, 240, 244)


def real_he() -> np.ndarray:
    if not REAL_HE.is_file():
        pytest.skip(f"real H&E crop not found in {SHARED_DATA}")
    with openslide.OpenSlide(REAL_HE) as slide:
        return np.asarray(slide.read_region((0, 0), 0, slide.dimensions).convert("RGB"))


def on_glass(tissue: np.ndarray, shape: tuple[int, int], at: tuple[int, int], seed: int = 0):
    """`tissue` pasted at `at` (x, y) on noisy glass of `shape` (rows, columns)."""
    rng = np.random.default_rng(seed)
    canvas = np.clip(rng.normal(GLASS, 3, (*shape, 3)), 0, 255).astype(np.uint8)
    x, y = at
    canvas[y : y + tissue.shape[0], x : x + tissue.shape[1]] = tissue
    return canvas


def downscaled(image: np.ndarray, factor: int) -> np.ndarray:
    """What a thumbnail is: the image shrunk by `factor` (area average)."""
    shape = (image.shape[0] // factor, image.shape[1] // factor, 3)
    return (resize(image, shape, anti_aliasing=True) * 255).astype(np.uint8)


def test_real_he_on_glass_finds_the_tissue_and_leaves_the_glass() -> None:
    he = real_he()  # 1101 x 1101, all tissue
    image = on_glass(he, (2000, 2800), (900, 500))
    thumbnail = downscaled(image, 4)  # 500 x 700; the tissue at 225..500, 125..400
    mask = tissue_mask(thumbnail, min_object_px=16, dilation_px=2)
    truth = np.zeros(mask.shape, bool)
    truth[125:400, 225:500] = True
    assert mask[truth].mean() > 0.99  # the tissue, holes (lumina, fat) filled
    # The glass stays background beyond the dilation at the tissue's border.
    grown = np.zeros(mask.shape, bool)
    grown[122:403, 222:503] = True
    assert not mask[~grown].any()


def test_all_tissue_is_not_split_in_two_by_otsu() -> None:
    mask = tissue_mask(downscaled(real_he(), 2))
    assert mask.mean() > 0.98


@pytest.mark.parametrize("colour", [(225, 150, 200), (120, 120, 130), (200, 160, 220)])
def test_a_known_tissue_rectangle(colour: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(1)
    tissue = np.clip(rng.normal(colour, 6, (60, 90, 3)), 0, 255).astype(np.uint8)
    image = on_glass(tissue, (200, 300), (100, 70))
    mask = tissue_mask(image, min_object_px=16, dilation_px=1)
    truth = np.zeros(mask.shape, bool)
    truth[70:130, 100:190] = True
    assert mask[truth].all()
    grown = np.zeros(mask.shape, bool)
    grown[69:131, 99:191] = True
    assert not mask[~grown].any()


def test_glass_alone_and_specks_are_no_tissue() -> None:
    glass = on_glass(np.zeros((0, 0, 3), np.uint8), (300, 400), (0, 0))
    assert not tissue_mask(glass).any()
    specked = glass.copy()
    specked[100:102, 200:202] = (90, 30, 90)  # 4 px of dust
    assert not tissue_mask(specked, min_object_px=16).any()


def test_a_bad_image_is_refused() -> None:
    with pytest.raises(ValueError, match="RGB"):
        tissue_mask(np.zeros((10, 10), np.uint8))


# ------------------------------------------------------------------ regions


def covering(regions, x: float, y: float) -> int:
    return sum(r.x_min <= x < r.x_max and r.y_min <= y < r.y_max for r in regions)


@pytest.mark.parametrize(("width", "height", "size"), [(5000, 3300, 1024), (1000, 700, 256)])
def test_regions_partition_the_tissue(width: int, height: int, size: int) -> None:
    rng = np.random.default_rng(2)
    mask = np.zeros((90, 130), bool)
    mask[10:40, 20:70] = True
    mask[60:89, 100:130] = True  # touches the right and bottom edges
    mask |= rng.random(mask.shape) > 0.995  # scattered single pixels
    regions = plan_regions(width, height, size, mask)

    # Squares on the global grid, clamped to the slide.
    for r in regions:
        assert r.x_min % size == 0 and r.y_min % size == 0
        assert r.x_max == min(r.x_min + size, width)
        assert r.y_max == min(r.y_min + size, height)
    assert max(r.x_max for r in regions) == width and max(r.y_max for r in regions) == height
    # Row-major and distinct.
    keys = [(r.y_min, r.x_min) for r in regions]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # Every level-0 point of a tissue mask pixel lies in exactly one region
    # (corners of each tissue mask pixel, and its centre); half-open edges.
    sx, sy = width / mask.shape[1], height / mask.shape[0]
    for row, column in zip(*np.nonzero(mask), strict=True):
        x0, y0 = column * sx, row * sy
        for x, y in ((x0, y0), (x0 + sx - 1e-6, y0 + sy - 1e-6), (x0 + sx / 2, y0 + sy / 2)):
            assert covering(regions, x, y) == 1, (row, column, x, y)
    # A region without tissue is not planned.
    for r in regions:
        c0, c1 = int(r.x_min // sx), int(np.ceil(r.x_max / sx))
        r0, r1 = int(r.y_min // sy), int(np.ceil(r.y_max / sy))
        assert mask[r0:r1, c0:c1].any()
    # A point on a shared edge belongs to one region.
    for r in regions:
        assert covering(regions, r.x_min, r.y_min) == 1


def test_no_tissue_plans_no_region_and_all_tissue_the_whole_grid() -> None:
    assert plan_regions(3000, 2000, 1024, np.zeros((20, 30), bool)) == []
    every = plan_regions(3000, 2000, 1024, np.ones((20, 30), bool))
    assert len(every) == 3 * 2
    assert sum(r.area_px for r in every) == 3000 * 2000


def test_region_area_in_mm2() -> None:
    regions = plan_regions(4000, 4000, 2000, np.ones((4, 4), bool))
    assert region_area_mm2(regions, 0.25) == pytest.approx(1.0)
    assert region_area_mm2(regions, None) == 0.0


@pytest.mark.parametrize("size", [-1, 0, MIN_REGION_SIZE - 1, MAX_REGION_SIZE + 1])
def test_a_bad_region_size_is_refused(size: int) -> None:
    with pytest.raises(InvalidArgument, match="region_size"):
        plan_regions(3000, 2000, size, np.ones((2, 2), bool))
