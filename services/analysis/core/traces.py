"""Trace CSVs in, one padded row of points per cell out.

Three layouts are read the same way, by their columns:
- the workflow's per-FOV trace CSV (`fov, cell, frame, time, good, ...,
  <feature>_ch_<channel>`), and the merged per-sample CSV with the same columns;
- the tidy per-feature CSV `time, fov, cell, value`.
The value column is the one named, else `value`, else the first
`intensity_total_ch_*`, else `intensity_mean_ch_*`, else the only
`<feature>_ch_<channel>` column. A missing `fov` column means one FOV (0).

Cells marked bad (rows whose `good` column is not true) are left out unless the
caller includes them; a CSV without a `good` column keeps every row.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import InvalidArgument

FEATURE_COLUMN = re.compile(r"^(?P<feature>.+)_ch_(?P<channel>\d+)$")
PREFERRED_FEATURES = ("intensity_total", "intensity_mean")
UNIT_COLUMNS = ("time_unit", "time_units")


@dataclass(frozen=True)
class TraceColumns:
    """Column names; "" takes the default (for `value`, the documented pick)."""

    time: str = "time"
    value: str = ""
    cell: str = "cell"
    fov: str = "fov"

    @classmethod
    def of(cls, time: str = "", value: str = "", cell: str = "", fov: str = "") -> TraceColumns:
        return cls(time or "time", value, cell or "cell", fov or "fov")


@dataclass
class Traces:
    """Every cell of a CSV: ids, and its points as a NaN-padded row."""

    path: Path
    columns: list[str]
    value_column: str
    time_units: str
    fov: np.ndarray  # (cells,) int64
    cell: np.ndarray  # (cells,) int64
    times: np.ndarray  # (cells, width) float64, NaN past a cell's last row
    values: np.ndarray  # (cells, width) float64, NaN where there is no value
    cells_with_gaps: int = 0
    n_timepoints: int = 0
    excluded_cells: int = 0  # cells left out because they are marked bad

    @property
    def n_cells(self) -> int:
        return int(self.fov.size)

    def row_of(self, fov: int, cell: int) -> int:
        """Index of cell (`fov`, `cell`); InvalidArgument when it is not there."""
        hits = np.flatnonzero((self.fov == fov) & (self.cell == cell))
        if hits.size == 0:
            raise InvalidArgument(
                f"no cell {cell} in FOV {fov} in {self.path.name}", fov=fov, cell=cell
            )
        return int(hits[0])


@dataclass(frozen=True)
class TraceSummary:
    """What load-traces answers (pyama-api.md)."""

    n_cells: int
    n_timepoints: int
    n_fovs: int
    time_units: str
    columns: list[str]
    time_range: tuple[float, float]
    value_range: tuple[float, float]
    mean_trace_count_per_cell: float
    cells_with_gaps: int
    total_observations: int
    excluded_cells: int = 0


def _read_fast(path: Path, usecols: list[str]) -> pd.DataFrame:
    """pyarrow's multithreaded parser; on anything it refuses, pandas' own parser,
    whose errors name the line."""
    try:
        return pd.read_csv(path, usecols=usecols, dtype={"good": str}, engine="pyarrow")
    except Exception:
        return pd.read_csv(path, usecols=usecols, dtype={"good": str})


def _read_header(path: Path) -> list[str]:
    try:
        header = pd.read_csv(path, nrows=0)
    except pd.errors.EmptyDataError:
        raise InvalidArgument(f"{path.name} is empty", path=str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise InvalidArgument(
            f"{path.name} is not a readable CSV: {error}", path=str(path)
        ) from None
    return [str(name) for name in header.columns]


def pick_value_column(columns: list[str], requested: str) -> str:
    """The value column, as the module docstring says; InvalidArgument naming the choices."""
    if requested:
        if requested not in columns:
            raise InvalidArgument(
                f"value column {requested!r} not found; columns are: {', '.join(columns)}",
                field="value_column",
            )
        return requested
    if "value" in columns:
        return "value"
    features = [name for name in columns if FEATURE_COLUMN.match(name)]
    for preferred in PREFERRED_FEATURES:
        for name in features:
            if FEATURE_COLUMN.match(name).group("feature") == preferred:  # type: ignore[union-attr]
                return name
    if len(features) == 1:
        return features[0]
    if features:
        raise InvalidArgument(
            f"several feature columns ({', '.join(features)}): name one as value_column",
            field="value_column",
        )
    raise InvalidArgument(
        f"no value column: expected 'value' or a <feature>_ch_<channel> column; "
        f"columns are: {', '.join(columns)}",
        field="value_column",
    )


def _numeric(frame: pd.DataFrame, name: str, path: Path) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name]):
        return frame[name].to_numpy(dtype=np.float64)  # the parser read numbers: done
    # Text in a numeric column: find the first entry that is not a number, to name it.
    column = pd.to_numeric(frame[name], errors="coerce")
    bad = column.isna() & frame[name].notna() & (frame[name].astype(str).str.strip() != "")
    if bad.any():
        example = frame[name][bad].iloc[0]
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2  # 1-based, after the header
        raise InvalidArgument(
            f"column {name!r} of {path.name} is not numeric (line {row}: {example!r})",
            field=name,
        )
    return column.to_numpy(dtype=np.float64)


def _ids(frame: pd.DataFrame, name: str, path: Path) -> np.ndarray:
    values = _numeric(frame, name, path)
    if np.isnan(values).any() or not np.all(values == np.round(values)):
        raise InvalidArgument(f"column {name!r} of {path.name} must hold whole numbers", field=name)
    return values.astype(np.int64)


def _good_rows(frame: pd.DataFrame) -> np.ndarray:
    flags = frame["good"].astype(str).str.strip().str.lower()
    return flags.isin(("true", "1", "1.0", "yes")).to_numpy()


def read_traces(
    path: Path,
    columns: TraceColumns = TraceColumns(),
    good_only: bool = False,
    include_bad: bool = False,
) -> Traces:
    """Read and validate a trace CSV (blocking). InvalidArgument names any problem.

    Rows not flagged good are left out when the CSV has a `good` column, unless
    `include_bad`; `good_only` (the documented `good_fits_only`) also demands the column."""
    header = _read_header(path)
    value = pick_value_column(header, columns.value)
    required = {"time_column": columns.time, "cell_column": columns.cell}
    missing = [f"{name} ({option})" for option, name in required.items() if name not in header]
    if missing:
        raise InvalidArgument(
            f"missing column(s) {', '.join(missing)} in {path.name}; "
            f"columns are: {', '.join(header)}",
            field="columns",
        )
    wanted = [columns.time, columns.cell, value]
    has_fov = columns.fov in header
    if has_fov:
        wanted.append(columns.fov)
    if good_only and "good" not in header:
        raise InvalidArgument(f"good_fits_only needs a 'good' column in {path.name}", field="good")
    drop_bad = "good" in header and (good_only or not include_bad)
    if drop_bad:
        wanted.append("good")
    unit_column = next((name for name in UNIT_COLUMNS if name in header), None)
    if unit_column:
        wanted.append(unit_column)
    usecols = list(dict.fromkeys(wanted))
    try:
        frame = _read_fast(path, usecols)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise InvalidArgument(
            f"{path.name} is not a readable CSV: {error}", path=str(path)
        ) from None
    excluded = 0
    if drop_bad:
        good = _good_rows(frame)
        if not good.all():
            key = [columns.fov, columns.cell] if has_fov else [columns.cell]
            cells_before = len(frame[key].drop_duplicates())
            frame = frame[good]
            excluded = cells_before - len(frame[key].drop_duplicates())
    if frame.empty:
        raise InvalidArgument(
            f"{path.name} has no rows"
            + (" flagged good (include_bad_cells keeps cells marked bad)" if drop_bad else ""),
            path=str(path),
        )
    times = _numeric(frame, columns.time, path)
    values = _numeric(frame, value, path)
    cells = _ids(frame, columns.cell, path)
    fovs = _ids(frame, columns.fov, path) if has_fov else np.zeros(cells.size, np.int64)
    if unit_column:
        units = str(frame[unit_column].dropna().iloc[0]) if frame[unit_column].notna().any() else ""
    else:
        # The workflow's traces (they have a frame column) are timed in minutes.
        units = "minutes" if "frame" in header else "unknown"
    traces = _pad(path, header, value, units, fovs, cells, times, values)
    traces.excluded_cells = excluded
    return traces


def _pad(
    path: Path,
    header: list[str],
    value: str,
    units: str,
    fovs: np.ndarray,
    cells: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
) -> Traces:
    """One row per (fov, cell), points in time order, NaN-padded to the longest cell."""
    if not _sorted(fovs, cells, times):  # the workflow writes them sorted: no copy then
        order = np.lexsort((times, cells, fovs))
        fovs, cells, times, values = fovs[order], cells[order], times[order], values[order]
    starts = np.flatnonzero(np.r_[True, (fovs[1:] != fovs[:-1]) | (cells[1:] != cells[:-1])])
    counts = np.diff(np.r_[starts, fovs.size])
    group = np.repeat(np.arange(starts.size), counts)
    position = np.arange(fovs.size) - starts[group]
    shape = (starts.size, int(counts.max()))
    padded_times = np.full(shape, np.nan)
    padded_values = np.full(shape, np.nan)
    padded_times[group, position] = times
    padded_values[group, position] = values
    traces = Traces(
        path=path,
        columns=header,
        value_column=value,
        time_units=units,
        fov=fovs[starts],
        cell=cells[starts],
        times=padded_times,
        values=padded_values,
    )
    traces.n_timepoints = int(np.unique(times[np.isfinite(times)]).size)
    traces.cells_with_gaps = _cells_with_gaps(traces)
    return traces


def _sorted(fovs: np.ndarray, cells: np.ndarray, times: np.ndarray) -> bool:
    """True when rows are ordered by fov, then cell, then time."""
    fov_step = np.diff(fovs)
    cell_step = np.diff(cells)
    time_step = np.diff(times)
    new_fov = fov_step > 0
    new_cell = new_fov | ((fov_step == 0) & (cell_step > 0))
    same_cell = (fov_step == 0) & (cell_step == 0)
    return bool(np.all(new_cell | (same_cell & (time_step >= 0))))


def _cells_with_gaps(traces: Traces) -> int:
    """Cells missing a value at a time point their FOV has, between their first and
    last observation (a cell that appears late or is lost early has no gap)."""
    observed = np.isfinite(traces.values) & np.isfinite(traces.times)
    gaps = 0
    for fov in np.unique(traces.fov):
        rows = traces.fov == fov
        grid = np.unique(traces.times[rows][np.isfinite(traces.times[rows])])
        seen = np.where(observed[rows], traces.times[rows], np.nan)
        first = np.nanmin(np.where(np.isnan(seen), np.inf, seen), axis=1)
        last = np.nanmax(np.where(np.isnan(seen), -np.inf, seen), axis=1)
        spanned = np.searchsorted(grid, last, side="right") - np.searchsorted(grid, first)
        spanned = np.where(np.isfinite(first), spanned, 0)
        gaps += int(np.count_nonzero(spanned > observed[rows].sum(axis=1)))
    return gaps


def summarize(traces: Traces) -> TraceSummary:
    observed = np.isfinite(traces.values)
    finite_times = traces.times[np.isfinite(traces.times)]
    finite_values = traces.values[observed]
    per_cell = observed.sum(axis=1)
    return TraceSummary(
        n_cells=traces.n_cells,
        n_timepoints=traces.n_timepoints,
        n_fovs=int(np.unique(traces.fov).size),
        time_units=traces.time_units,
        columns=list(traces.columns),
        time_range=_range(finite_times),
        value_range=_range(finite_values),
        mean_trace_count_per_cell=round(float(per_cell.mean()), 3) if per_cell.size else 0.0,
        cells_with_gaps=traces.cells_with_gaps,
        total_observations=int(per_cell.sum()),
        excluded_cells=traces.excluded_cells,
    )


def _range(values: np.ndarray) -> tuple[float, float]:
    return (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)


class TraceCache:
    """The last few CSVs read, keyed by path, size and modification time: a job
    and the pictures of its cells read the file once."""

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._entries: OrderedDict[tuple, Traces] = OrderedDict()
        self._lock = threading.Lock()

    def read(
        self,
        path: Path,
        columns: TraceColumns,
        good_only: bool = False,
        include_bad: bool = False,
    ) -> Traces:
        stat = os.stat(path)
        key = (str(path), stat.st_size, stat.st_mtime_ns, columns, good_only, include_bad)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        traces = read_traces(path, columns, good_only, include_bad)
        with self._lock:
            self._entries[key] = traces
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return traces
