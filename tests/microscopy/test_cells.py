"""Cells of a real workflow output: listing, one cell's trace and lineage, quality
marks written into the CSV (one cell, many, by rule, undo), the strip of crops,
and the samples a person defines; all without gRPC."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from common.errors import AlreadyExists, InvalidArgument
from services.microscopy.core.workflow import cells
from services.microscopy.core.workflow.cell_strip import (
    cell_at,
    render_cell_strip,
    render_cells_frame,
)
from services.microscopy.core.workflow.merge import (
    available_fovs,
    check_samples_exist,
    format_ranges,
    merge_samples,
    read_samples,
    samples_of,
    write_samples,
)
from services.microscopy.core.workflow.pipeline import ChannelSpec, FovTask, PipelineParams, run_fov
from testing.synthetic_movie import SyntheticCell, SyntheticMovie, dividing

N_FRAMES = 8


@pytest.fixture(scope="module")
def output(tmp_path_factory) -> Path:
    """A real run of two FOVs: a moving cell, a late one (short track), a dividing one,
    and one at the frame's edge."""
    movie = SyntheticMovie(
        [
            SyntheticCell(0, 100, 100, 15, 18, vx=2.0),
            SyntheticCell(1, 250, 110, 14, 14, start=5),  # present in 3 frames
            *dividing(2, 240, 260, at=4, daughter_ids=(3, 4)),
            SyntheticCell(5, 25, 300, 13, 13),  # at the edge
        ],
        N_FRAMES,
        340,
        340,
        seed=5,
    )
    folder = tmp_path_factory.mktemp("cells")
    path = movie.write_ome_tiff(folder / "movie.ome.tif")
    for fov in (0, 1):
        run_fov(
            FovTask(
                microscopy_path=str(path),
                fov=0,  # the file has one FOV: both folders hold its results
                output_dir=str(folder / "out"),
                phase=ChannelSpec(0, ("area",)),
                fluorescence=(ChannelSpec(1, ("intensity_total",)),),
                params=PipelineParams(min_frames=2, border_margin=20),
            )
        )
        if fov == 1:  # a second FOV: a copy relabelled as FOV 1
            source = folder / "out" / "fov_000"
            target = folder / "out" / "fov_001"
            target.mkdir()
            table = pd.read_csv(source / "movie_fov_000_traces.csv")
            table["fov"] = 1
            table.to_csv(target / "movie_fov_001_traces.csv", index=False)
    return folder / "out"


@pytest.fixture
def traces(output, tmp_path) -> Path:
    """A fresh copy of FOV 0's folder (marks change the CSV)."""
    source = output / "fov_000"
    target = tmp_path / "fov_000"
    target.mkdir()
    for item in source.iterdir():
        (target / item.name).write_bytes(item.read_bytes())
    return target / "movie_fov_000_traces.csv"


def good_of(path: Path) -> dict[int, set[str]]:
    flags: dict[int, set[str]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            flags.setdefault(int(row["cell"]), set()).add(row["good"])
    return flags


def test_listing_has_every_cell_with_track_length_lineage_and_feature_means(traces):
    table = pd.read_csv(traces)
    page = cells.list_cells(traces, sort_by="n_frames", descending=True)
    assert page.all_cells == table["cell"].nunique() == page.total_cells
    assert page.features == ["area_ch_0", "intensity_total_ch_1"]
    lengths = [cell.n_frames for cell in page.cells]
    assert lengths == sorted(lengths, reverse=True)
    for cell in page.cells:
        rows = table[table["cell"] == cell.cell]
        assert cell.n_frames == len(rows)
        assert (cell.first_frame, cell.last_frame) == (rows["frame"].min(), rows["frame"].max())
        assert cell.feature_means["area_ch_0"] == pytest.approx(rows["area_ch_0"].mean())
        assert cell.good == bool(rows["good"].all())
    parents = {cell.cell: cell.parent for cell in page.cells}
    daughters = {cell.cell: cell.daughters for cell in page.cells}
    divided = [cell for cell, kids in daughters.items() if kids]
    assert len(divided) == 1 and len(daughters[divided[0]]) == 2
    assert all(parents[kid] == divided[0] for kid in daughters[divided[0]])

    bad = cells.list_cells(traces, good=False)
    assert bad.total_cells == page.all_cells - page.good_cells >= 1  # the edge cell
    second = cells.list_cells(traces, offset=1, limit=2)
    assert [c.cell for c in second.cells] == [c.cell for c in cells.list_cells(traces).cells][1:3]


def test_one_cell_has_its_rows_in_frame_order(traces):
    table = pd.read_csv(traces)
    cell = int(table["cell"].iloc[0])
    trace = cells.cell_trace(traces, 0, cell)
    rows = table[table["cell"] == cell]
    assert trace.series["frame"] == rows["frame"].astype(float).tolist()
    assert trace.series["intensity_total_ch_1"] == pytest.approx(rows["intensity_total_ch_1"])
    with pytest.raises(InvalidArgument, match="no cell 999 in FOV 0"):
        cells.cell_trace(traces, 0, 999)


@pytest.mark.parametrize(
    ("sort_by", "message"), [("volume", "cannot sort by 'volume'"), ("", None)]
)
def test_unknown_sort_key_is_named(traces, sort_by, message):
    if message is None:
        cells.list_cells(traces, sort_by=sort_by)
        return
    with pytest.raises(InvalidArgument, match=message):
        cells.list_cells(traces, sort_by=sort_by)


def test_marks_change_only_the_good_field_and_can_be_undone(traces):
    before = traces.read_bytes()
    page = cells.list_cells(traces, good=True)
    target = page.cells[0].cell
    change = cells.set_quality(traces, [(0, target, False)])
    assert change.cells_changed == 1
    assert change.marked == {(0, target): False}
    assert change.good_cells == page.total_cells - 1
    assert good_of(traces)[target] == {"False"}
    after = traces.read_bytes().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before.splitlines(), after, strict=True)) if a != b]
    table = pd.read_csv(io.BytesIO(before))
    assert changed == [i + 1 for i in np.flatnonzero(table["cell"] == target)]
    assert list(traces.parent.glob(".*tmp")) == []
    # Undo: marked good again, the file is byte for byte what it was.
    assert cells.set_quality(traces, [(0, target, True)]).cells_changed == 1
    assert traces.read_bytes() == before


def test_rules_mark_short_tracks_and_border_cells(traces):
    table = pd.read_csv(traces)
    lengths = table.groupby("cell").size()
    change = cells.set_quality(traces, rule=cells.QualityRule(min_frames=N_FRAMES))
    assert set(change.marked) == {(0, int(c)) for c in lengths[lengths < N_FRAMES].index}
    assert all(good is False for good in change.marked.values())
    for cell in lengths[lengths < N_FRAMES].index:
        assert good_of(traces)[int(cell)] == {"False"}
    edge = cells.set_quality(traces, rule=cells.QualityRule(border_margin=40))
    near = table[(table["bbox_x0"] < 40) | (table["bbox_y0"] < 40)]["cell"].unique()
    assert {(0, int(c)) for c in near} <= set(edge.marked)
    # A rule can also mark good: everything back.
    cells.set_quality(traces, rule=cells.QualityRule(min_frames=10**6, good=True))
    assert all(flags == {"True"} for flags in good_of(traces).values())


def test_unknown_cells_are_named_and_nothing_is_written(traces):
    before = traces.read_bytes()
    with pytest.raises(InvalidArgument, match="has no FOV 0 cell 77, FOV 3 cell 1"):
        cells.set_quality(traces, [(0, 0, False), (0, 77, False), (3, 1, False)])
    with pytest.raises(InvalidArgument, match="name cells to mark, or a rule"):
        cells.set_quality(traces, [])
    assert traces.read_bytes() == before


def test_a_second_marker_waits_then_gets_a_conflict(traces):
    held = threading.Event()
    release = threading.Event()

    def hold():
        with cells.folder_lock(traces.parent):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with (
            pytest.raises(AlreadyExists, match="being written by another request"),
            cells.folder_lock(traces.parent, wait_s=0.2),
        ):
            pass
    finally:
        release.set()
        thread.join()


def test_strip_follows_the_cell_and_names_missing_channels(traces):
    trace = cells.cell_trace(traces, 0, int(pd.read_csv(traces)["cell"].iloc[0]))
    png, frames = render_cell_strip(traces, 0, trace.summary.cell, 1, n_crops=4, crop_size=64)
    image = Image.open(io.BytesIO(png))
    assert image.size == (len(frames) * 64 + (len(frames) - 1) * 2, 64 + 16)
    assert frames[0] == trace.series["frame"][0] and frames[-1] == trace.series["frame"][-1]
    pixels = np.asarray(image.convert("RGB"))
    assert ((pixels == (255, 225, 25)).all(axis=2)).sum() > 20  # the outline is drawn
    with pytest.raises(InvalidArgument, match="channel 5 was not copied"):
        render_cell_strip(traces, 0, trace.summary.cell, 5)


def test_the_frame_shows_every_cell_and_a_click_finds_one(traces):
    table = pd.read_csv(traces)
    rendered, (n_frames, height, width) = render_cells_frame(traces, 2, 0, max_size=170)
    assert (n_frames, height, width) == (N_FRAMES, 340, 340)
    assert max(rendered.width, rendered.height) == 170
    row = table[table["frame"] == 2].iloc[0]
    x, y = round(row["position_x"]), round(row["position_y"])
    assert cell_at(traces, 2, x, y) == row["cell"]
    assert cell_at(traces, 2, 0, 0) is None
    with pytest.raises(InvalidArgument, match="outside the 340 x 340 frame"):
        cell_at(traces, 2, 400, 0)
    with pytest.raises(InvalidArgument, match="frame 99 is outside"):
        cell_at(traces, 99, 0, 0)
    assert cells.fov_of(traces) == 0


def test_samples_are_checked_against_the_fovs_saved_and_merged(output, tmp_path):
    assert available_fovs(output) == [0, 1]
    samples = samples_of([{"name": "control", "fovs": "0"}, {"name": "treated", "fovs": [1]}])
    check_samples_exist(samples, available_fovs(output), output)
    with pytest.raises(InvalidArgument, match=r"sample 'x': FOV 2-4, 7 \(FOVs with traces: 0-1\)"):
        check_samples_exist(samples_of([{"name": "x", "fovs": "0-4, 7"}]), [0, 1], output)
    with pytest.raises(InvalidArgument, match="item 'a-b' is not a number"):
        samples_of([{"name": "x", "fovs": "a-b"}])
    path = tmp_path / "samples.yaml"
    write_samples(path, samples)
    assert read_samples(path) == samples
    assert "fovs: '0'" in path.read_text()
    merged = merge_samples(path, output, tmp_path / "merged")
    assert merged.samples_processed == 2
    assert format_ranges((0, 1, 2, 3, 7, 9, 10)) == "0-3, 7, 9-10"
