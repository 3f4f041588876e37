"""run_fov end to end: a synthetic movie with known cells, the real phase-contrast
time-lapse with ground-truth labels, resuming, cancelling and bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from common.errors import InvalidArgument
from services.microscopy.core.workflow import storage
from services.microscopy.core.workflow.pipeline import (
    STEPS,
    Cancelled,
    ChannelSpec,
    FovTask,
    PipelineParams,
    fov_paths,
    run_fov,
    step_done,
)
from testing import scoring
from testing.synthetic_movie import SyntheticCell, SyntheticMovie, dividing

TIMELAPSE = "timelapse/laptrack-cell_segmentation_data_small.npz"
N_FRAMES = 12

# Floors for the real time-lapse (reached: P 0.418, R 0.447, F1 0.432, TRA 0.829,
# DET 0.864, LNK 0.547 with the clean-up scaled to its ~11 px cells), less a margin.
REAL_FLOORS = {"precision": 0.40, "recall": 0.43, "f1": 0.41, "TRA": 0.80, "DET": 0.84, "LNK": 0.52}


def ground_truth_cells() -> list[SyntheticCell]:
    return [
        SyntheticCell(0, 140, 140, 15, 20, vx=2.0, vy=1.0),  # moving
        SyntheticCell(1, 330, 130, 16, 16, start=4, fluorescence_total=120_000),  # appears late
        SyntheticCell(2, 140, 330, 14, 18, missing=(5,), fluorescence_total=300_000),  # gap
        *dividing(3, 330, 340, at=6, daughter_ids=(4, 5)),  # divides
        # neighbours: 20 px apart, just beyond what the reference's clean-up bridges
        SyntheticCell(6, 480, 130, 15, 15),
        SyntheticCell(7, 480, 180, 15, 15, vy=0.5),
        SyntheticCell(8, 30, 470, 14, 14),  # at the frame edge: not `good`
    ]


@pytest.fixture(scope="module")
def movie() -> SyntheticMovie:
    return SyntheticMovie(ground_truth_cells(), N_FRAMES, 560, 520, seed=11)


@pytest.fixture(scope="module")
def movie_file(movie, tmp_path_factory) -> Path:
    return movie.write_ome_tiff(tmp_path_factory.mktemp("movie") / "synthetic cells.ome.tif")


def make_task(path: Path, output: Path, **params) -> FovTask:
    return FovTask(
        microscopy_path=str(path),
        fov=0,
        output_dir=str(output),
        phase=ChannelSpec(0, ("area", "aspect_ratio")),
        fluorescence=(ChannelSpec(1, ("intensity_total", "intensity_mean")),),
        params=PipelineParams(**{"min_frames": 4, **params}),
    )


@pytest.fixture(scope="module")
def processed(movie_file, tmp_path_factory):
    task = make_task(movie_file, tmp_path_factory.mktemp("out"))
    events = []
    result = run_fov(task, on_progress=lambda *event: events.append(event))
    return task, result, events


def test_trace_csv_layout(processed):
    task, result, _ = processed
    path = Path(result.traces_csv)
    assert path == Path(task.output_dir) / "fov_000" / "synthetic cells_fov_000_traces.csv"
    traces = pd.read_csv(path)
    assert list(traces.columns) == [
        "fov", "cell", "frame", "time", "good", "position_x", "position_y",
        "bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1",
        "area_ch_0", "aspect_ratio_ch_0", "intensity_mean_ch_1", "intensity_total_ch_1",
        "parent",
    ]  # fmt: skip
    assert traces.equals(traces.sort_values(["cell", "frame"], ignore_index=True))
    assert (traces["fov"] == 0).all()
    assert set(traces["time"]) == {10.0 * t for t in range(N_FRAMES)}  # minutes
    assert result.n_rows == len(traces) and result.n_frames == N_FRAMES
    assert result.time_unit == "min"


def true_track_of(movie, labels) -> dict[int, set[int]]:
    """For each true cell, the predicted tracks covering it (mask IoU > 0.5)."""
    found: dict[int, set[int]] = {}
    for t in range(movie.n_frames):
        truth, predicted = movie.truth_labels(t), np.asarray(labels[t])
        for cell in movie.cells:
            if not cell.present(t):
                continue
            inside = predicted[truth == cell.id + 1]
            track = np.bincount(inside).argmax()
            union = np.count_nonzero((truth == cell.id + 1) | (predicted == track))
            assert track > 0 and np.count_nonzero(inside == track) / union > 0.5, (t, cell)
            found.setdefault(cell.id, set()).add(int(track) - 1)
    return found


def test_every_cell_tracked_across_gaps_and_divisions(movie, processed):
    task, result, _ = processed
    paths = fov_paths(task)
    tracks_of = true_track_of(movie, storage.open_array(paths.labels))
    # one track per true cell, all different: the gap did not cut cell 2's track,
    # the late cell got its own, the neighbours were not swapped or merged
    assert all(len(tracks) == 1 for tracks in tracks_of.values()), tracks_of
    track = {cell: tracks.pop() for cell, tracks in tracks_of.items()}
    assert len(set(track.values())) == len(movie.cells)
    assert result.n_cells == len(movie.cells)
    traces = pd.read_csv(result.traces_csv)
    per_cell = traces.groupby("cell")
    assert per_cell["frame"].min()[track[1]] == 4
    assert sorted(per_cell["frame"].apply(list)[track[2]]) == [t for t in range(N_FRAMES) if t != 5]
    parent = per_cell["parent"].first()
    assert parent[track[4]] == parent[track[5]] == track[3]
    assert parent[track[0]] == -1
    assert per_cell["frame"].max()[track[3]] == 5  # the mother's track ends at the division
    assert result.divisions == 1
    good = per_cell["good"].all()
    assert not good[track[8]]
    assert good[[track[c] for c in (0, 2, 4, 5, 6, 7)]].all()
    # the CTC measures against the true lineage
    true_labels = np.stack([movie.truth_labels(t) for t in range(N_FRAMES)])
    true_parent = {c.id: (c.parent if c.parent is not None else -1) for c in movie.cells}
    scores = scoring.score_tracking(
        np.asarray(storage.open_array(paths.labels)),
        scoring.tracks_parent(paths.tracks),
        true_labels,
        true_parent,
    )
    assert scores == {"TRA": 1.0, "DET": 1.0, "LNK": 1.0}


def test_intensity_total_within_2_percent_of_truth(movie, processed):
    task, result, _ = processed
    tracks_of = true_track_of(movie, storage.open_array(fov_paths(task).labels))
    traces = pd.read_csv(result.traces_csv).set_index(["cell", "frame"])
    checked = 0
    for cell in movie.cells:
        (track,) = tracks_of[cell.id]
        if not traces.loc[track, "good"].all():
            continue  # within border_margin of the edge, where the background is extrapolated
        measured = traces.loc[track, "intensity_total_ch_1"]
        np.testing.assert_allclose(measured, cell.fluorescence_total, rtol=0.02)
        checked += len(measured)
    assert checked > 70


def test_progress_is_reported_per_frame_for_every_step(processed):
    _, _, events = processed
    for step in STEPS:
        done = [d for s, d, total in events if s == step]
        assert done == list(range(N_FRAMES + 1)), step


def test_rerun_skips_finished_steps_and_redoes_missing_ones(movie_file, processed, tmp_path):
    task, first, _ = processed
    paths = fov_paths(task)
    outputs = [*paths.raw.values(), paths.mask, *paths.background.values(), paths.labels]
    stamps = {p: p.stat().st_mtime_ns for p in outputs}
    before = Path(first.traces_csv).read_bytes()
    Path(first.traces_csv).unlink()
    storage.partial_path(Path(first.traces_csv)).write_text("left by a crash")
    events = []
    again = run_fov(task, on_progress=lambda *event: events.append(event))
    assert again == first
    assert Path(again.traces_csv).read_bytes() == before
    assert {p: p.stat().st_mtime_ns for p in outputs} == stamps  # not rewritten
    assert [e for e in events if e[0] == "copying"] == [("copying", N_FRAMES, N_FRAMES)]
    assert len([e for e in events if e[0] == "extraction"]) == N_FRAMES + 1
    assert not storage.partial_path(Path(first.traces_csv)).exists()
    assert all(step_done(task, step) for step in STEPS)


class StopAfter:
    """A picklable stop flag that turns True after `n` questions."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self) -> bool:
        self.n -= 1
        return self.n < 0


def test_cancel_stops_within_a_frame_and_a_rerun_completes(movie_file, processed, tmp_path):
    task = make_task(movie_file, tmp_path)
    paths = fov_paths(task)
    events = []
    # copying asks 12 times, segmentation 12, correction 12: stop in correction's 5th frame
    with pytest.raises(Cancelled):
        run_fov(task, on_progress=lambda *e: events.append(e), should_stop=StopAfter(2 * 12 + 4))
    assert events[-1] == ("correction", 4, N_FRAMES)
    assert step_done(task, "segmentation") and not step_done(task, "correction")
    assert not list(paths.fov_dir.glob("*.partial"))
    result = run_fov(task)
    _, reference, _ = processed
    assert Path(result.traces_csv).read_bytes() == Path(reference.traces_csv).read_bytes()


def test_task_and_result_are_picklable(processed):
    task, result, _ = processed
    assert pickle.loads(pickle.dumps(task)) == task
    assert pickle.loads(pickle.dumps(result)) == result
    assert pickle.loads(pickle.dumps(StopAfter(3))).n == 3


@pytest.mark.parametrize(
    "change,message",
    [
        ({"params": PipelineParams(segmentation_method="delta")}, "supported: logstd"),
        ({"fov": 3}, "fov index 3 is out of range"),
        ({"phase": ChannelSpec(5, ("area",))}, "channel index 5 is out of range"),
        ({"phase": None}, "phase-contrast channel"),
        ({"params": PipelineParams(cleanup_size=4)}, "cleanup_size"),
        ({"params": PipelineParams(max_gap=-1)}, "max_gap must be >= 0"),
        ({"fluorescence": (ChannelSpec(1, ("brightness",)),)}, "unknown feature brightness"),
    ],
)
def test_bad_input_is_refused_before_any_work(movie_file, tmp_path, change, message):
    task = make_task(movie_file, tmp_path)
    task = FovTask(**{**task.__dict__, **change})
    with pytest.raises(InvalidArgument, match=message):
        run_fov(task)
    assert not (tmp_path / "fov_000").exists() or not any((tmp_path / "fov_000").iterdir())


def test_real_timelapse_accuracy_holds(shared_data, tmp_path):
    path = shared_data / TIMELAPSE
    if not path.is_file():
        pytest.skip(f"{TIMELAPSE} not found in {shared_data}")
    with np.load(path) as data:
        images, truth = data["images"], data["labels"]
    movie = tmp_path / "c2c12.ome.tif"
    tifffile.imwrite(movie, images[:, None], ome=True, metadata={"axes": "TCYX"})
    task = FovTask(
        str(movie),
        0,
        str(tmp_path / "out"),
        ChannelSpec(0, ("area",)),
        (),
        PipelineParams(cleanup_size=3, min_frames=1, border_margin=0),
    )
    run_fov(task)
    paths = fov_paths(task)
    seg = scoring.score_segmentation(list(storage.open_array(paths.mask)), list(truth))
    true_labels, true_parent = scoring.link_true_objects(truth)
    track = scoring.score_tracking(
        np.asarray(storage.open_array(paths.labels)),
        scoring.tracks_parent(paths.tracks),
        true_labels,
        true_parent,
    )
    reached = {"precision": seg.precision, "recall": seg.recall, "f1": seg.f1, **track}
    assert all(reached[k] >= floor for k, floor in REAL_FLOORS.items()), reached


def test_settled_chains_change_nothing_laptrack_would_decide(movie):
    """Chains settled before laptrack give the tracks laptrack gives on everything."""
    from services.microscopy.core.workflow import segmentation, tracking

    frames = [
        tracking.label_objects(segmentation.segment_logstd(movie.phase(t))) for t in range(N_FRAMES)
    ]
    table = tracking._OverlapTable(3)
    for t, (labels, n) in enumerate(frames):
        table.add_frame(t, labels, n)
    object_frames = np.array([f for f, _ in table.objects])
    chains, rest = tracking._simple_chains(table, object_frames)
    assert len(chains) >= 4 and rest.size  # both paths are exercised
    track_df, split_df = tracking._laptrack(table, object_frames, np.arange(len(object_frames)), 2)
    expected = {frozenset(g["uid"].astype(int)) for _, g in track_df.groupby("track_id")}
    result = tracking.track_objects(iter(frames), max_gap=2)
    got: dict[int, set[int]] = {}
    for key, track in result.track_of.items():
        got.setdefault(track, set()).add(table.uid(*key))
    assert {frozenset(m) for m in got.values()} == expected
    assert (result.parent >= 0).sum() == len(split_df) == 2


def test_a_movie_without_cells_gives_an_empty_trace_csv(tmp_path):
    movie = SyntheticMovie([], 3, 200, 220, seed=2)
    path = movie.write_ome_tiff(tmp_path / "empty.ome.tif")
    result = run_fov(make_task(path, tmp_path / "out"))
    traces = pd.read_csv(result.traces_csv)
    assert traces.empty and "intensity_total_ch_1" in traces.columns
    assert (result.n_cells, result.n_rows, result.divisions) == (0, 0, 0)
