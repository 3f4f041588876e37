"""Background correction against known fields (testing/background_fields.py).

The default method (`pspline`) must give every cell's fluorescence total within 2% of
the truth on flat, linear, curved and uneven fields, for dim cells in the corners and cut
by the frame edge, on frame sizes that are not multiples of the reference's 256 px
tiles and on 2048 x 2048 frames. The reference's method, kept by name, is far off on
the same fields (so these tests fail on the old default).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.microscopy.core.workflow import background, background_reference, storage
from services.microscopy.core.workflow.pipeline import (
    ChannelSpec,
    FovTask,
    PipelineParams,
    fov_paths,
    run_fov,
)
from testing.background_fields import FIELDS, background_errors, hard_cells
from testing.synthetic_movie import SyntheticMovie

TOLERANCE = 0.02


def one_frame(field: str, height: int, width: int, seed: int = 1):
    cells = hard_cells(height, width, seed=seed)
    movie = SyntheticMovie(cells, 1, height, width, seed=seed, background_field=FIELDS[field])
    totals = np.array([cell.fluorescence_total for cell in cells])
    return movie.fluorescence(0), movie.truth_labels(0), movie.background(), totals


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("shape", [(768, 768), (700, 900)], ids=["768", "700x900"])
def test_totals_within_2_percent_on_known_fields(field, shape):
    frame, labels, truth, totals = one_frame(field, *shape)
    assert len(np.unique(labels)) - 1 == len(totals)  # corner and edge cells are all there
    errors = background_errors(labels, truth, background.background_map(frame, labels > 0), totals)
    assert np.abs(errors).max() <= TOLERANCE, errors
    reference = background.background_map(frame, labels > 0, "reference")
    reference_errors = background_errors(labels, truth, reference, totals)
    if field != "flat":  # the reference's constant edges are far off on any slope
        assert np.abs(reference_errors).max() > 0.5


@pytest.mark.parametrize("field", ["linear", "uneven"])
def test_totals_within_2_percent_on_2048_frames(field):
    frame, labels, truth, totals = one_frame(field, 2048, 2048, seed=3)
    errors = background_errors(labels, truth, background.background_map(frame, labels > 0), totals)
    assert np.abs(errors).max() <= TOLERANCE, errors


def test_the_map_follows_the_field_into_corners_and_edges():
    """No constant extrapolation: near every edge and corner the map keeps the field's
    slope, where the reference's stays flat within ~256 px of the edge."""
    frame, labels, truth, _ = one_frame("uneven", 768, 768)
    ours = background.background_map(frame, labels > 0)
    reference = background.background_map(frame, labels > 0, "reference")
    band = np.zeros(truth.shape, bool)
    band[:64], band[-64:], band[:, :64], band[:, -64:] = True, True, True, True
    assert np.abs(ours - truth)[band].max() < 3.0  # counts, on a field spanning ~1000
    assert np.abs(reference - truth)[band].max() > 100.0
    assert np.ptp(reference[:40, 700:]) < np.ptp(truth[:40, 700:]) / 2  # clamped corner


def test_unsegmented_cells_do_not_lift_the_background():
    """Cells the segmentation missed light their bins; the robust fit drops those bins."""
    frame, labels, truth, totals = one_frame("curved", 768, 768)
    missed = np.isin(labels, [9, 10, 11])  # cells 8-10 are left out of the mask
    errors = background_errors(
        labels, truth, background.background_map(frame, (labels > 0) & ~missed), totals
    )
    seen = np.ones(len(totals), bool)
    seen[[8, 9, 10]] = False
    assert np.abs(errors[seen]).max() <= TOLERANCE


def test_degenerate_frames_get_a_level():
    rng = np.random.default_rng(0)
    frame = rng.normal(300, 4, (40, 50)).round().astype(np.uint16)
    everything = np.ones(frame.shape, bool)
    for mask in (np.zeros(frame.shape, bool), everything):  # no cells; all cells
        b = background.background_map(frame, mask)
        assert b.shape == frame.shape and b.dtype == np.float32
        assert np.abs(b - 300).max() < 3
    tiny = background.background_map(frame[:3, :2], np.zeros((3, 2), bool))
    assert tiny.shape == (3, 2) and np.isfinite(tiny).all()


def test_reference_method_is_the_reference_bit_for_bit():
    frame, labels, _, _ = one_frame("curved", 700, 900)
    mask = labels > 0
    chosen = background.background_map(frame, mask, "reference")
    medians = background_reference.tile_medians(frame, mask)
    assert np.array_equal(chosen, background_reference.background_from_medians(medians, mask.shape))


def test_unknown_method_lists_the_methods():
    with pytest.raises(ValueError, match="supported: pspline, reference"):
        background.method("rolling_ball")


@pytest.fixture(scope="module")
def uneven_movie(tmp_path_factory):
    """768 x 768, an uneven field, dim cells, two in corners: the issue's hard case."""
    size = 768
    cells = hard_cells(size, size, n_inner=8, seed=2)[:4] + hard_cells(size, size, n_inner=8)[8:]
    movie = SyntheticMovie(cells, 3, size, size, seed=2, background_field=FIELDS["uneven"])
    path = movie.write_ome_tiff(tmp_path_factory.mktemp("uneven") / "uneven.ome.tif")
    return movie, path


def measured_totals(movie, path, output, method):
    task = FovTask(
        str(path), 0, str(output), ChannelSpec(0, ("area",)),
        (ChannelSpec(1, ("intensity_total",)),),
        PipelineParams(background_method=method, min_frames=1, border_margin=0),
    )  # fmt: skip
    result = run_fov(task)
    labels = np.asarray(storage.open_array(fov_paths(task).labels)[0])
    truth = movie.truth_labels(0)
    traces = pd.read_csv(result.traces_csv)
    errors = {}
    for cell in movie.cells:
        track = np.bincount(labels[truth == cell.id + 1]).argmax() - 1
        measured = traces.loc[traces["cell"] == track, "intensity_total_ch_1"]
        errors[cell.id] = float(np.median(measured)) / cell.fluorescence_total - 1.0
    return errors


def test_workflow_totals_within_2_percent_on_an_uneven_field(uneven_movie, tmp_path):
    movie, path = uneven_movie
    ours = measured_totals(movie, path, tmp_path / "ours", "pspline")
    assert max(abs(e) for e in ours.values()) <= TOLERANCE, ours
    theirs = measured_totals(movie, path, tmp_path / "reference", "reference")
    assert max(abs(e) for e in theirs.values()) > 0.5, theirs
    # each method keeps its own step files: a run with the other never reuses them
    assert sorted(p.name for p in (tmp_path / "ours" / "fov_000").glob("*background*")) == [
        "uneven_fov_000_background_pspline_ch_1.npy"
    ]
