"""Fitting a plan to traces in chunks of cells: the unit of parallel work and of
progress. `fit_chunk` is a plain top-level function of picklable arguments, so
a process pool or a Dask cluster can run it as well as a thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from .models import get_model
from .plan import FitPlan
from .results import FitTable, r_squared
from .solver import CONVERGED, MAX_ITERATIONS, CellFits, SolverOptions, fit_cells

DEFAULT_OPTIONS = SolverOptions()


@dataclass(frozen=True)
class Chunk:
    start: int
    stop: int


def chunks(n_cells: int, chunk_size: int) -> Iterator[Chunk]:
    for start in range(0, n_cells, chunk_size):
        yield Chunk(start, min(start + chunk_size, n_cells))


def fit_chunk(
    model_type: str,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    free: np.ndarray,
    times: np.ndarray,
    values: np.ndarray,
    options: SolverOptions = DEFAULT_OPTIONS,
) -> CellFits:
    """Fit every row; cells the compiled solver left unconverged get a final
    trust-region polish from where it stopped."""
    model = get_model(model_type)
    fits = fit_cells(model, times, values, start, lower, upper, free, options)
    for row in np.flatnonzero(fits.status == MAX_ITERATIONS):
        _polish(model, times[row], values[row], lower, upper, free, fits, row)
    return fits


def _polish(model, times, values, lower, upper, free, fits: CellFits, row: int) -> None:
    valid = np.isfinite(times) & np.isfinite(values)
    t, y = times[valid], values[valid]
    held = fits.params[row].copy()

    def residuals(x: np.ndarray) -> np.ndarray:
        held[free] = x
        return model.curve(t, held) - y

    result = least_squares(
        residuals,
        fits.params[row][free],
        bounds=(lower[free], upper[free]),
        method="trf",
        ftol=1e-14,
        xtol=1e-14,
        gtol=1e-14,
    )
    ssr = float(2 * result.cost)
    if result.success and ssr <= fits.ssr[row]:
        fits.params[row][free] = result.x
        fits.ssr[row] = ssr
        fits.status[row] = CONVERGED


def fit_all(
    plan: FitPlan, times: np.ndarray, values: np.ndarray, chunk_size: int = 2000
) -> CellFits:
    """Every cell, chunk after chunk, in this thread (the reference for the parallel paths)."""
    parts = [
        fit_chunk(
            plan.model.name,
            plan.start,
            plan.lower,
            plan.upper,
            plan.free,
            np.broadcast_to(times, values.shape)[c.start : c.stop],
            values[c.start : c.stop],
        )
        for c in chunks(values.shape[0], chunk_size)
    ]
    return concatenate(parts)


def concatenate(parts: list[CellFits]) -> CellFits:
    return CellFits(
        params=np.concatenate([p.params for p in parts]),
        ssr=np.concatenate([p.ssr for p in parts]),
        n_points=np.concatenate([p.n_points for p in parts]),
        status=np.concatenate([p.status for p in parts]),
        iterations=np.concatenate([p.iterations for p in parts]),
    )


class Tally:
    """Running progress counters over the chunks done so far."""

    def __init__(self) -> None:
        self.cells = 0
        self.successful = 0
        self.r_squared_sum = 0.0

    def add(self, values: np.ndarray, fits: CellFits) -> None:
        """Count one chunk (`values`: its rows)."""
        success = fits.success
        self.cells += success.size
        self.successful += int(success.sum())
        self.r_squared_sum += float(r_squared(values, np.nan_to_num(fits.ssr))[success].sum())

    def counters(self) -> dict[str, float]:
        """The status route's counters."""
        return {
            "successful_fits": float(self.successful),
            "failed_fits": float(self.cells - self.successful),
            "average_r_squared": (
                round(self.r_squared_sum / self.successful, 6) if self.successful else 0.0
            ),
            "convergence_rate": round(self.successful / self.cells, 6) if self.cells else 0.0,
        }


def table_of(plan: FitPlan, fov: np.ndarray, cell: np.ndarray, values, fits: CellFits) -> FitTable:
    return FitTable.of(plan.model.name, plan.model.parameter_names, fov, cell, values, fits)
