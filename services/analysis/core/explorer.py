"""The fitted cells of one or more fitting jobs as one table, to compare cells and samples.

Each job is one sample (a merged per-sample CSV fitted once, the usual way); its
name is the traces file's name without `_merged` and `.csv`. Rows are the results
CSVs' rows (fov, cell, success, r_squared, the parameters) with the sample, the job
and the cell's `good` flag as the traces CSV holds it now, so marks made after
fitting can filter the table.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import InvalidArgument

from .results import read_results
from .traces import TraceColumns

BASE_COLUMNS = ("sample", "job_id", "fov", "cell", "success", "r_squared", "good")
_TRUE = ("true", "1", "1.0", "yes")


@dataclass(frozen=True)
class FittedSource:
    """A completed fitting job: where its traces and results are."""

    job_id: str
    csv_path: Path
    results_file: Path
    model_type: str
    columns: TraceColumns = field(default_factory=TraceColumns)


@dataclass(frozen=True)
class CellFilter:
    min_r_squared: float | None = None
    good_only: bool = False
    successful_only: bool = False
    sample: str = ""


def sample_names(sources: list[FittedSource]) -> list[str]:
    """Each job's sample name, made unique ("control", "control (2)") in request order."""
    names: list[str] = []
    for source in sources:
        stem = source.csv_path.name.removesuffix(".csv").removesuffix("_merged")
        name, number = stem, 2
        while name in names:
            name, number = f"{stem} ({number})", number + 1
        names.append(name)
    return names


def _good_flags(source: FittedSource) -> pd.DataFrame | None:
    """(fov, cell) -> good now, from the traces CSV; None when it has no `good` column."""
    columns = source.columns
    try:
        header = list(pd.read_csv(source.csv_path, nrows=0).columns)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    if "good" not in header:
        return None
    wanted = [name for name in (columns.fov, columns.cell, "good") if name in header]
    flags = pd.read_csv(source.csv_path, usecols=wanted, dtype={"good": str})
    flags["good"] = flags["good"].astype(str).str.strip().str.lower().isin(_TRUE)
    if columns.fov not in header:
        flags[columns.fov] = 0
    flags = flags.groupby([columns.fov, columns.cell], as_index=False)["good"].all()
    return flags.rename(columns={columns.fov: "fov", columns.cell: "cell"})


def fitted_cells(sources: list[FittedSource], parameter_names: tuple[str, ...]) -> pd.DataFrame:
    """Every fitted cell of every job (blocking): BASE_COLUMNS then the parameters."""
    models = sorted({source.model_type for source in sources})
    if len(models) > 1:
        raise InvalidArgument(
            f"the jobs fitted different models ({', '.join(models)}): compare one model at a time",
            field="job_ids",
        )
    parts = []
    for source, name in zip(sources, sample_names(sources), strict=True):
        table = read_results(source.results_file)
        flags = _good_flags(source)
        if flags is None:
            table["good"] = True
        else:
            table = table.merge(flags, on=["fov", "cell"], how="left")
            table["good"] = table["good"].fillna(True).astype(bool)
        table["sample"] = name
        table["job_id"] = source.job_id
        table["success"] = table["success"].astype(str).str.lower().isin(_TRUE)
        parts.append(table[[*BASE_COLUMNS, *parameter_names]])
    return pd.concat(parts, ignore_index=True)


def filter_cells(table: pd.DataFrame, spec: CellFilter) -> pd.DataFrame:
    keep = np.ones(len(table), dtype=bool)
    if spec.sample:
        samples = list(dict.fromkeys(table["sample"]))
        if spec.sample not in samples:
            raise InvalidArgument(
                f"no sample {spec.sample!r}; samples are: {', '.join(samples)}", field="sample"
            )
        keep &= (table["sample"] == spec.sample).to_numpy()
    if spec.min_r_squared is not None:
        keep &= (table["r_squared"] >= spec.min_r_squared).to_numpy()
    if spec.good_only:
        keep &= table["good"].to_numpy()
    if spec.successful_only:
        keep &= table["success"].to_numpy()
    return table[keep]


def sort_cells(
    table: pd.DataFrame, sort_by: str, descending: bool, parameter_names: tuple[str, ...]
) -> pd.DataFrame:
    keys = ("sample", "fov", "cell", "r_squared", "success", "good", *parameter_names)
    if sort_by and sort_by not in keys:
        raise InvalidArgument(
            f"cannot sort by {sort_by!r}; choose one of {', '.join(keys)}", field="sort_by"
        )
    order = [sort_by] if sort_by else []
    order += [key for key in ("sample", "fov", "cell") if key not in order]
    ascending = [not descending] + [True] * (len(order) - 1) if sort_by else True
    return table.sort_values(order, ascending=ascending, kind="stable", na_position="last")


def to_csv(table: pd.DataFrame) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.10g")
    return buffer.getvalue()


def parameter_values(
    table: pd.DataFrame, parameters: list[str], parameter_names: tuple[str, ...]
) -> dict[str, list[np.ndarray]]:
    """Per sample (in table order), each named parameter over its successful fits."""
    for name in parameters:
        if name not in parameter_names:
            raise InvalidArgument(
                f"unknown parameter {name!r}; the model's parameters are: "
                f"{', '.join(parameter_names)}",
                field="parameter",
            )
    fitted = table[table["success"]]
    return {
        sample: [
            fitted.loc[fitted["sample"] == sample, name].to_numpy(np.float64) for name in parameters
        ]
        for sample in dict.fromkeys(table["sample"])
    }
