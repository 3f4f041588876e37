"""Trace CSVs: the three layouts, the summary, and every bad file named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.errors import InvalidArgument
from services.analysis.core.traces import TraceColumns, read_traces, summarize
from tests.analysis.synthetic import TIMES, maturation_traces, tidy_frame, workflow_frame, write_csv


@pytest.fixture(scope="module")
def values():
    _, values = maturation_traces(12, seed=11)
    values[3, 40:60] = np.nan  # a gap inside cell 3
    return values


def test_tidy_layout(tmp_path, values):
    path = write_csv(tidy_frame(values, n_fovs=3), tmp_path / "tidy.csv")
    traces = read_traces(path)
    assert traces.n_cells == 12 and traces.value_column == "value"
    order = np.lexsort((traces.cell, traces.fov))
    assert list(zip(traces.fov[order], traces.cell[order], strict=True))[:4] == [
        (0, 0),
        (0, 1),
        (0, 2),
        (0, 3),
    ]
    # Cell 3 of the input is FOV 0, cell 1: its values come back in time order.
    row = traces.row_of(0, 1)
    np.testing.assert_allclose(traces.values[row], values[3])
    np.testing.assert_allclose(traces.times[row], TIMES)
    summary = summarize(traces)
    assert summary.n_cells == 12 and summary.n_fovs == 3 and summary.n_timepoints == 181
    assert summary.cells_with_gaps == 1
    assert summary.total_observations == 12 * 181 - 20
    assert summary.time_range == (0.0, 30.0)
    assert summary.value_range == pytest.approx((np.nanmin(values), np.nanmax(values)))
    assert summary.mean_trace_count_per_cell == pytest.approx((12 * 181 - 20) / 12, abs=1e-3)
    assert summary.columns == ["time", "fov", "cell", "value"]


def test_workflow_layout_picks_intensity_total_and_reads_minutes(tmp_path, values):
    path = write_csv(workflow_frame(values, n_fovs=2), tmp_path / "exp_fov_000_traces.csv")
    traces = read_traces(path)
    assert traces.value_column == "intensity_total_ch_1"
    assert traces.time_units == "minutes"
    assert summarize(traces).time_range == (0.0, 1800.0)
    chosen = read_traces(path, TraceColumns.of(value="intensity_mean_ch_1"))
    np.testing.assert_allclose(chosen.values * 50.0, traces.values)


def test_cells_marked_bad_are_left_out_unless_included(tmp_path, values):
    frame = workflow_frame(values)
    frame.loc[frame["cell"] == 5, "good"] = False
    path = write_csv(frame, tmp_path / "traces.csv")
    default = read_traces(path)
    assert (default.n_cells, default.excluded_cells) == (11, 1)
    assert 5 not in set(default.cell)
    assert summarize(default).excluded_cells == 1
    assert read_traces(path, good_only=True).n_cells == 11
    everything = read_traces(path, include_bad=True)
    assert (everything.n_cells, everything.excluded_cells) == (12, 0)
    # Without a `good` column every row is kept; good_only then demands one.
    no_flags = write_csv(frame.drop(columns="good"), tmp_path / "tidy.csv")
    assert read_traces(no_flags).n_cells == 12
    with pytest.raises(InvalidArgument, match="needs a 'good' column"):
        read_traces(no_flags, good_only=True)
    frame["good"] = False
    with pytest.raises(InvalidArgument, match="include_bad_cells keeps cells marked bad"):
        read_traces(write_csv(frame, tmp_path / "all_bad.csv"))


def test_overridden_column_names_and_no_fov_column(tmp_path, values):
    frame = tidy_frame(values).drop(columns="fov")
    frame = frame.rename(columns={"time": "t_h", "cell": "track", "value": "gfp"})
    path = write_csv(frame, tmp_path / "renamed.csv")
    traces = read_traces(path, TraceColumns.of(time="t_h", cell="track", value="gfp"))
    assert traces.n_cells == 12 and set(traces.fov) == {0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("time,cell\n0,1\n", "no value column"),
        ("time,fov,value\n0,0,1\n", "missing column(s) cell (cell_column)"),
        ("time,cell,value\n", "has no rows"),
        ("time,cell,value\n0,1,abc\n", "column 'value' of bad.csv is not numeric (line 2: 'abc')"),
        ("time,cell,value\n0,1.5,2\n", "'cell' of bad.csv must hold whole numbers"),
        ('time,cell,value\n0,1,"2\n', "not a readable CSV"),
        ("time,cell,a_ch_1,b_ch_2\n0,1,2,3\n", "several feature columns"),
    ],
)
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InvalidArgument) as caught:
        read_traces(path)
    assert message in caught.value.message


def test_a_named_value_column_must_exist(tmp_path, values):
    path = write_csv(tidy_frame(values), tmp_path / "tidy.csv")
    with pytest.raises(InvalidArgument, match="value column 'gfp' not found"):
        read_traces(path, TraceColumns.of(value="gfp"))
    frame = pd.read_csv(path)
    assert len(frame) == 12 * 181  # untouched
