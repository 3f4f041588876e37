"""The science steps against the reference's formulas, on real and synthetic frames.

The fast implementations must give the reference's segmentation masks bit for
bit (pyama-reference.md, step 2), and the reference's tile medians; the
reference code is benchmarks/reference_workflow.py, written the plain way.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import regionprops

from benchmarks import reference_workflow as reference
from services.microscopy.core.workflow import background_reference as background
from services.microscopy.core.workflow import extraction, morphology, segmentation
from testing.synthetic_movie import SyntheticMovie, scattered_cells

TIMELAPSE = "timelapse/laptrack-cell_segmentation_data_small.npz"


@pytest.fixture(scope="module")
def real_phase(shared_data):
    path = shared_data / TIMELAPSE
    if not path.is_file():
        pytest.skip(f"{TIMELAPSE} not found in {shared_data}")
    with np.load(path) as data:
        return data["images"], data["labels"]


@pytest.fixture(scope="module")
def synthetic_frames():
    """Odd-sized frames with 12 cells: phase and fluorescence of two time points."""
    movie = SyntheticMovie(scattered_cells(12, 301, 517, seed=5, margin=40), 2, 301, 517, seed=5)
    return [movie.phase(t) for t in range(2)], [movie.fluorescence(t) for t in range(2)]


def random_masks(seed: int):
    rng = np.random.default_rng(seed)
    for shape in [(1, 1), (2, 3), (37, 41), (64, 200)]:
        for density in (0.1, 0.5, 0.9):
            yield rng.random(shape) < density


@pytest.mark.parametrize("size,iterations", [(3, 1), (7, 3), (21, 1), (5, 2)])
def test_box_morphology_equals_scipy(size, iterations):
    square = np.ones((size, size), bool)
    for mask in random_masks(size * 10 + iterations):
        kwargs = {"structure": square, "iterations": iterations}
        assert np.array_equal(
            morphology.erode_square(mask, size, iterations), ndimage.binary_erosion(mask, **kwargs)
        )
        assert np.array_equal(
            morphology.dilate_square(mask, size, iterations),
            ndimage.binary_dilation(mask, **kwargs),
        )
        assert np.array_equal(
            morphology.open_square(mask, size, iterations), ndimage.binary_opening(mask, **kwargs)
        )
        assert np.array_equal(
            morphology.close_square(mask, size, iterations), ndimage.binary_closing(mask, **kwargs)
        )


def test_fill_holes_equals_scipy():
    for mask in random_masks(1):
        assert np.array_equal(morphology.fill_holes(mask), ndimage.binary_fill_holes(mask))
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[4, 4] = False
    assert morphology.fill_holes(ring)[4, 4]


def test_local_variance_and_histogram_equal_numpy_scipy(real_phase, synthetic_frames):
    rng = np.random.default_rng(2)
    frames = [*real_phase[0][:3], *synthetic_frames[0], rng.integers(0, 65535, (33, 7))]
    for frame in frames:
        image = frame.astype(np.float32)
        mean = ndimage.uniform_filter(image, 3)
        var = ndimage.uniform_filter(image * image, 3) - mean * mean
        assert np.array_equal(segmentation._local_variance(image), var)
        values = segmentation.log_std(frame)
        counts, edges = np.histogram(values, bins=200)
        ours_counts, ours_edges = segmentation._equal_bin_histogram(values, 200)
        assert np.array_equal(ours_counts, counts)
        assert np.array_equal(ours_edges, edges)


def test_logstd_masks_identical_to_reference(real_phase, synthetic_frames):
    images, _ = real_phase
    frames = [*images, *synthetic_frames[0]]
    for frame in frames:
        ours = segmentation.segment_logstd(frame)
        assert np.array_equal(ours, reference.segment_logstd(frame))
    # The synthetic cells are found: one object per cell, not an empty mask.
    _, n = ndimage.label(segmentation.segment_logstd(synthetic_frames[0][0]))
    assert n == 12


def test_tile_medians_equal_reference(synthetic_frames):
    phase, fluorescence = synthetic_frames
    mask = segmentation.segment_logstd(phase[0])
    ours = background.background_map(fluorescence[0], mask)
    theirs = reference.background(fluorescence[0], mask)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-3)


def test_masked_median_is_numpy_median():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 1000, 1001):
        values = rng.integers(0, 65535, (1, n)).astype(np.uint16)
        keep = rng.random((1, n)) < 0.7
        keep[0, 0] = True
        assert background._masked_median(values, keep) == np.median(values[keep])


def test_features_equal_regionprops_on_the_mask(synthetic_frames):
    phase, fluorescence = synthetic_frames
    labels, _ = ndimage.label(segmentation.segment_logstd(phase[0]))
    bg = background.background_map(fluorescence[0], labels > 0)
    m = extraction.measure_frame(labels, [(1, fluorescence[0], bg)], 1.0)
    corrected = fluorescence[0].astype(np.float64) - bg
    regions = regionprops(labels)
    assert list(m.cell) == [r.label - 1 for r in regions]
    for i, r in enumerate(regions):
        assert m.area[i] == r.area
        assert m.centroid_y[i] == pytest.approx(r.centroid[0])
        assert m.centroid_x[i] == pytest.approx(r.centroid[1])
        y0, x0, y1, x1 = r.bbox
        assert tuple(m.bbox[i]) == (x0, y0, x1, y1)
        ev = np.sort(np.linalg.eigvalsh(np.cov(r.coords.T.astype(float))))
        assert m.aspect_ratio[i] == pytest.approx(np.sqrt(ev[1] / ev[0]), rel=1e-6)
        total = corrected[r.coords[:, 0], r.coords[:, 1]].sum()
        assert m.intensity_total[1][i] == pytest.approx(total, rel=1e-9)
        assert m.intensity_mean[1][i] == pytest.approx(total / r.area, rel=1e-9)


def test_aspect_ratio_of_degenerate_shapes_is_one():
    line = np.zeros((5, 9), np.int32)
    line[2, 1:8] = 1
    line[0, 0] = 2  # a single pixel
    m = extraction.measure_frame(line, [], 1.0)
    assert list(m.aspect_ratio) == [1.0, 1.0]


def test_label_equals_scipy():
    for mask in random_masks(4):
        ours, n = morphology.label(mask)
        theirs, m = ndimage.label(mask)
        assert n == m
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("size,iterations", [(3, 1), (7, 3), (5, 2)])
def test_open_then_close_equals_scipy(size, iterations):
    square = np.ones((size, size), bool)
    for mask in random_masks(size + iterations):
        kwargs = {"structure": square, "iterations": iterations}
        expected = ndimage.binary_closing(ndimage.binary_opening(mask, **kwargs), **kwargs)
        assert np.array_equal(morphology.open_then_close_square(mask, size, iterations), expected)


def test_tile_medians_are_exact_medians_even_with_hot_pixels(synthetic_frames):
    phase, fluorescence = synthetic_frames
    mask = segmentation.segment_logstd(phase[0])
    frame = fluorescence[0].copy()
    frame[3, 4], frame[150, 400] = 65000, 40000  # blocks too wide to count densely
    keep = ~ndimage.binary_dilation(mask, np.ones((21, 21), bool))
    ey, ex = background.tile_edges(frame.shape[0]), background.tile_edges(frame.shape[1])
    expected = [
        [
            np.median(
                frame[ey[i] : ey[i + 2], ex[j] : ex[j + 2]][
                    keep[ey[i] : ey[i + 2], ex[j] : ex[j + 2]]
                ]
            )
            for j in range(len(ex) - 2)
        ]
        for i in range(len(ey) - 2)
    ]
    assert np.array_equal(background.tile_medians(frame, mask), np.array(expected))
