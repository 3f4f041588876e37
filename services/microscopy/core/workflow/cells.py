"""The cells of a trace CSV, and their quality marks.

A trace CSV (pyama-reference.md, "Files") holds one row per cell per frame; its
`good` column is the per-row quality flag the workflow sets (short tracks and
cells near the border are not good) and people change: merge, load-traces and
fitting leave out rows that are not good. A mark is state, not a deletion:
marking a cell good again undoes it.

Marks rewrite only the `good` field of the cell's rows; every other byte of the
file stays as it was. The new file is written under a temporary name beside the
old one and renamed over it, so a reader sees the old file or the new one; an
exclusive lock on the folder keeps two markers of the same folder in turn.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument

from .pipeline import TRACE_COLUMNS

GOOD_COLUMN = TRACE_COLUMNS.index("good")
_TRUE = frozenset({"true", "1", "1.0", "yes"})
FEATURE_COLUMN = re.compile(r"^[a-z0-9_]+_ch_\d+$")
# The series of one cell's trace besides its feature columns, in file order.
TRACE_SERIES = (
    "frame",
    "time",
    "position_x",
    "position_y",
    "bbox_x0",
    "bbox_y0",
    "bbox_x1",
    "bbox_y1",
)
# Keys a listing sorts by, besides the feature columns (sorted by their mean over the track).
SORT_KEYS = ("fov", "cell", "n_frames", "first_frame", "last_frame", "good", "parent")
# How long a marker waits for another marker of the same folder before answering 409.
LOCK_WAIT_S = 5.0


def is_good(text: str) -> bool:
    return text.strip().lower() in _TRUE


@dataclass(frozen=True)
class CellSummary:
    """One cell (track) of a trace CSV."""

    fov: int
    cell: int
    good: bool  # every row of the cell is good
    n_frames: int
    first_frame: int
    last_frame: int
    parent: int  # -1: none
    daughters: tuple[int, ...]
    feature_means: dict[str, float]


@dataclass(frozen=True)
class CellPage:
    """A sorted page of a trace CSV's cells."""

    total_cells: int  # cells matching the filter
    good_cells: int  # good cells in the whole file
    all_cells: int  # cells in the whole file
    features: list[str]
    cells: list[CellSummary]


@dataclass(frozen=True)
class CellTrace:
    """One cell's rows: every series of the CSV, in frame order."""

    summary: CellSummary
    series: dict[str, list[float]]


@dataclass(frozen=True)
class QualityRule:
    """Cells a rule matches: tracks shorter than `min_frames` frames, or whose box ever
    comes within `border_margin` pixels of the frame's edge. Matching cells get `good`."""

    min_frames: int | None = None
    border_margin: int | None = None
    good: bool = False

    @property
    def empty(self) -> bool:
        return self.min_frames is None and self.border_margin is None


@dataclass(frozen=True)
class QualityChange:
    """What a marking did."""

    cells_changed: int  # cells whose flag changed
    # (fov, cell) -> good, for every cell the request named or its rule matched
    marked: dict[tuple[int, int], bool] = field(default_factory=dict)
    good_cells: int = 0
    total_cells: int = 0


# ---------------------------------------------------------------- reading


def read_table(path: Path) -> pd.DataFrame:
    """The CSV as a DataFrame with a boolean `good`; InvalidArgument when it is not a trace CSV."""
    try:
        table = pd.read_csv(path, dtype={"good": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"{path.name} is not a readable CSV: {error}", path=path) from None
    check_header(path, list(table.columns))
    table["good"] = table["good"].fillna("").map(is_good).astype(bool)
    return table


def check_header(path: Path, header: Sequence[str]) -> None:
    if tuple(header[: len(TRACE_COLUMNS)]) != TRACE_COLUMNS:
        raise InvalidArgument(
            f"{path.name} is not a trace CSV: its columns start "
            f"{list(header[: len(TRACE_COLUMNS)])}, expected {list(TRACE_COLUMNS)}",
            path=path,
        )


def fov_of(path: Path) -> int:
    """The FOV of a per-FOV trace CSV (its first row's); 0 for an empty one."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        check_header(path, next(reader, []))
        first = next(reader, None)
    return int(first[0]) if first else 0


def feature_columns(table: pd.DataFrame) -> list[str]:
    return [name for name in table.columns[len(TRACE_COLUMNS) :] if FEATURE_COLUMN.fullmatch(name)]


def summarize_cells(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (fov, cell): good, n_frames, first/last frame, parent, feature means."""
    features = feature_columns(table)
    if "parent" not in table.columns:
        table = table.assign(parent=-1)
    grouped = table.groupby(["fov", "cell"], sort=True)
    cells = grouped.agg(
        good=("good", "all"),
        n_frames=("frame", "size"),
        first_frame=("frame", "min"),
        last_frame=("frame", "max"),
        parent=("parent", "first"),
    )
    if features:
        cells = cells.join(grouped[features].mean())
    return cells.reset_index()


def _daughters(cells: pd.DataFrame) -> dict[tuple[int, int], tuple[int, ...]]:
    children: dict[tuple[int, int], list[int]] = {}
    for fov, cell, parent in cells[["fov", "cell", "parent"]].itertuples(index=False):
        if parent >= 0:
            children.setdefault((int(fov), int(parent)), []).append(int(cell))
    return {key: tuple(sorted(value)) for key, value in children.items()}


def _summary(row: pd.Series, features: list[str], daughters) -> CellSummary:
    fov, cell = int(row["fov"]), int(row["cell"])
    return CellSummary(
        fov=fov,
        cell=cell,
        good=bool(row["good"]),
        n_frames=int(row["n_frames"]),
        first_frame=int(row["first_frame"]),
        last_frame=int(row["last_frame"]),
        parent=int(row["parent"]),
        daughters=daughters.get((fov, cell), ()),
        # A feature without any value has no mean (NaN is no JSON number).
        feature_means={
            name: float(row[name]) for name in features if np.isfinite(float(row[name]))
        },
    )


def _finite(value) -> float:
    value = float(value)
    return value if np.isfinite(value) else float("nan")


def list_cells(
    path: Path,
    *,
    sort_by: str = "",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
    good: bool | None = None,
) -> CellPage:
    """A page of the CSV's cells, sorted by `sort_by` (a SORT_KEYS name or a feature
    column; "" is fov, cell), optionally only good (`good=True`) or bad ones."""
    table = read_table(path)
    features = feature_columns(table)
    cells = summarize_cells(table)
    key = sort_by or "fov"
    if key not in SORT_KEYS and key not in features:
        raise InvalidArgument(
            f"cannot sort by {sort_by!r}; choose one of {', '.join([*SORT_KEYS, *features])}",
            field="sort_by",
        )
    if offset < 0 or not 1 <= limit <= 10000:
        raise InvalidArgument("offset must be >= 0 and limit between 1 and 10000", field="limit")
    daughters = _daughters(cells)
    chosen = cells if good is None else cells[cells["good"] == good]
    order = [key, "fov", "cell"] if key not in ("fov", "cell") else ["fov", "cell"]
    ascending = [not descending] + [True] * (len(order) - 1)
    if key == "cell":
        order, ascending = ["cell", "fov"], [not descending, True]
    chosen = chosen.sort_values(order, ascending=ascending, kind="stable", na_position="last")
    page = chosen.iloc[offset : offset + limit]
    return CellPage(
        total_cells=len(chosen),
        good_cells=int(cells["good"].sum()),
        all_cells=len(cells),
        features=features,
        cells=[_summary(row, features, daughters) for _, row in page.iterrows()],
    )


def cell_trace(path: Path, fov: int, cell: int) -> CellTrace:
    """One cell's summary and rows; InvalidArgument naming it when it is not in the file."""
    table = read_table(path)
    features = feature_columns(table)
    rows = table[(table["fov"] == fov) & (table["cell"] == cell)]
    if rows.empty:
        raise InvalidArgument(f"no cell {cell} in FOV {fov} in {path.name}", fov=fov, cell=cell)
    cells = summarize_cells(table[table["fov"] == fov])
    row = cells[cells["cell"] == cell].iloc[0]
    rows = rows.sort_values("frame", kind="stable")
    series = {
        name: [_finite(v) for v in rows[name].to_numpy(dtype=np.float64)]
        for name in (*TRACE_SERIES, *features)
    }
    return CellTrace(_summary(row, features, _daughters(cells)), series)


# ---------------------------------------------------------------- marking


@contextlib.contextmanager
def folder_lock(folder: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """An exclusive lock on `folder` (flock on the folder itself: no lock file is left
    behind). ALREADY_EXISTS (409) when another marker holds it longer than `wait_s`."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AlreadyExists(
                        f"{folder} is being written by another request; try again",
                        path=folder,
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(handle)  # releases the lock


def frame_shape_of(traces_path: Path) -> tuple[int, int]:
    """(height, width) of the frames the CSV was measured on, from the tracking labels
    the workflow left beside it; FAILED_PRECONDITION when they are not there."""
    labels = sorted(traces_path.parent.glob("*_labels.npy"))
    if not labels:
        raise FailedPrecondition(
            f"the border rule needs the frame size: no tracking labels beside {traces_path.name}",
            field="rule.border_margin",
        )
    shape = np.load(labels[0], mmap_mode="r").shape
    return int(shape[1]), int(shape[2])


def rule_matches(
    table: pd.DataFrame, rule: QualityRule, frame_shape: tuple[int, int] | None
) -> set[tuple[int, int]]:
    """(fov, cell) of the cells `rule` names."""
    keys = ["fov", "cell"]
    hits: set[tuple[int, int]] = set()
    if rule.min_frames is not None:
        sizes = table.groupby(keys).size()
        hits |= {(int(f), int(c)) for f, c in sizes[sizes < rule.min_frames].index}
    if rule.border_margin is not None:
        if frame_shape is None:
            raise InvalidArgument("the border rule needs the frame size", field="rule")
        height, width = frame_shape
        margin = rule.border_margin
        near = (
            (table["bbox_x0"] < margin)
            | (table["bbox_y0"] < margin)
            | (table["bbox_x1"] > width - margin)
            | (table["bbox_y1"] > height - margin)
        )
        hits |= {(int(f), int(c)) for f, c in table.loc[near, keys].drop_duplicates().to_numpy()}
    return hits


def set_quality(
    path: Path,
    marks: Sequence[tuple[int, int, bool]] = (),
    rule: QualityRule | None = None,
) -> QualityChange:
    """Mark cells (fov, cell, good) and/or the cells a rule matches; write the CSV back.

    Every named cell must exist (InvalidArgument naming the ones that do not), and
    nothing is written then. Blocking."""
    if not marks and (rule is None or rule.empty):
        raise InvalidArgument("name cells to mark, or a rule", field="cells")
    with folder_lock(path.parent):
        table = read_table(path)
        present = set(map(tuple, table[["fov", "cell"]].drop_duplicates().to_numpy().tolist()))
        unknown = [(f, c) for f, c, _ in marks if (f, c) not in present]
        if unknown:
            named = ", ".join(f"FOV {f} cell {c}" for f, c in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise InvalidArgument(f"{path.name} has no {named}{more}", field="cells", path=path)
        wanted: dict[tuple[int, int], bool] = {}
        if rule is not None and not rule.empty:
            shape = frame_shape_of(path) if rule.border_margin is not None else None
            for key in rule_matches(table, rule, shape):
                wanted[key] = rule.good
        for fov, cell, good in marks:  # explicit marks win over the rule
            wanted[(fov, cell)] = good
        flags = table.groupby(["fov", "cell"])["good"]
        all_good, any_good = flags.all(), flags.any()
        changed = {key for key, good in wanted.items() if bool(all_good[key]) != good}
        rows_differ = any(
            (not all_good[key]) if good else any_good[key] for key, good in wanted.items()
        )
        if rows_differ:
            _rewrite_good(path, wanted)
        final = {**{key: bool(v) for key, v in all_good.items()}, **wanted}
        return QualityChange(
            cells_changed=len(changed),
            marked=dict(sorted(wanted.items())),
            good_cells=sum(final.values()),
            total_cells=len(final),
        )


def _rewrite_good(path: Path, wanted: dict[tuple[int, int], bool]) -> None:
    """Copy the CSV with the `good` field of the wanted cells' rows replaced (the
    workflow's own spelling, True/False), then rename it over the original."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.marks.tmp")
    try:
        with open(path, newline="") as source, open(temporary, "w", newline="") as target:
            reader = csv.reader(source)
            writer = csv.writer(target, lineterminator=_line_ending(path))
            header = next(reader)
            writer.writerow(header)
            for row in reader:
                key = (int(row[0]), int(row[1]))
                if key in wanted:
                    row[GOOD_COLUMN] = "True" if wanted[key] else "False"
                writer.writerow(row)
            target.flush()
            os.fsync(target.fileno())
        os.chmod(temporary, os.stat(path).st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _line_ending(path: Path) -> str:
    with open(path, "rb") as handle:
        first = handle.readline()
    return "\r\n" if first.endswith(b"\r\n") else "\n"
