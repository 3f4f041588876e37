"""Fitted cells as a table: r^2, the results CSV, and the statistics of a run."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import InvalidArgument

from .solver import CellFits

GOOD_R2 = 0.9
MEDIUM_R2 = 0.7


def r_squared(values: np.ndarray, ssr: np.ndarray) -> np.ndarray:
    """1 - SS_res/SS_tot per cell over its valid points (0 if SS_tot = 0), clipped to [0, 1]."""
    valid = np.isfinite(values)
    counts = valid.sum(axis=1)
    means = np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), 0.0)
    total = np.nansum((values - means[:, None]) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1.0 - ssr / total, 0.0)
    return np.clip(np.nan_to_num(r2, nan=0.0), 0.0, 1.0)


@dataclass
class FitTable:
    """One row per cell, in the order of the traces."""

    model_type: str
    parameter_names: tuple[str, ...]
    fov: np.ndarray
    cell: np.ndarray
    success: np.ndarray
    r_squared: np.ndarray
    params: np.ndarray  # (cells, parameters); NaN for failed fits

    @classmethod
    def of(cls, model_type, names, fov, cell, values, fits: CellFits) -> FitTable:
        success = fits.success
        params = np.where(success[:, None], fits.params, np.nan)
        r2 = np.where(success, r_squared(values, np.nan_to_num(fits.ssr)), 0.0)
        return cls(model_type, tuple(names), fov, cell, success, r2, params)

    def frame(self) -> pd.DataFrame:
        """The results CSV's columns (pyama-reference.md): fov, cell, model_type,
        success, r_squared, then the fitted parameters."""
        table = pd.DataFrame(
            {
                "fov": self.fov,
                "cell": self.cell,
                "model_type": self.model_type,
                "success": self.success,
                "r_squared": self.r_squared,
            }
        )
        for index, name in enumerate(self.parameter_names):
            table[name] = self.params[:, index]
        return table


def results_path(csv_path: Path, model_type: str, job_id: str) -> Path:
    """`<stem>_fitted_<model>_<job id>.csv` beside the traces: the reference's
    name plus the job, so two fits of one CSV never overwrite each other and
    each job's plots and summaries keep reading its own results."""
    return csv_path.with_name(f"{csv_path.stem}_fitted_{model_type}_{job_id}.csv")


def write_results(table: FitTable, destination: Path) -> Path:
    """Write the CSV under a temporary name in the same folder, then rename it: a
    reader never sees half a file, and a crash leaves no results file. Created
    as any other output is (0666 less the umask; mkstemp's 0600 would hide it
    from the rest of the group)."""
    temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", newline="") as stream:
            table.frame().to_csv(stream, index=False, float_format="%.10g")
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination


def read_results(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InvalidArgument(f"results file {path.name} cannot be read: {error}") from None


def _stats(values: np.ndarray) -> dict[str, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def quality_bands(r2: np.ndarray) -> dict[str, int]:
    """good > 0.9, medium 0.7-0.9, poor <= 0.7."""
    return {
        "good_r2": int(np.count_nonzero(r2 > GOOD_R2)),
        "medium_r2": int(np.count_nonzero((r2 > MEDIUM_R2) & (r2 <= GOOD_R2))),
        "poor_r2": int(np.count_nonzero(r2 <= MEDIUM_R2)),
    }


def summarize_results(table: FitTable) -> dict:
    """Totals, r^2 and per-parameter statistics over successful fits; quality bands
    over every cell (a failed fit counts as poor)."""
    ok = table.success
    r2 = table.r_squared[ok]
    r2_stats = _stats(r2)
    return {
        "summary": {
            "total_cells": int(ok.size),
            "successful_fits": int(ok.sum()),
            "failed_fits": int(ok.size - ok.sum()),
            "mean_r_squared": r2_stats["mean"],
            "std_r_squared": r2_stats["std"],
        },
        "parameters": [
            {"name": name, **_stats(table.params[ok, index])}
            for index, name in enumerate(table.parameter_names)
        ],
        "quality_distribution": quality_bands(table.r_squared),
    }
