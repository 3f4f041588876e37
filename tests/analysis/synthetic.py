"""Synthetic traces with known parameters and noise, in the three CSV layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from services.analysis.core.models import MODELS

N_POINTS = 181
TIMES = np.arange(N_POINTS) / 6.0  # 30 time units, 10-minute frames in hours


def maturation_truth(n_cells: int, rng: np.random.Generator) -> np.ndarray:
    """Amplitude, rate, offset well inside the documented bounds."""
    return np.column_stack(
        [
            rng.uniform(1.0, 8.0, n_cells),
            rng.uniform(0.05, 0.8, n_cells),
            rng.uniform(-0.5, 2.0, n_cells),
        ]
    )


def curves(model_type: str, truth: np.ndarray, times: np.ndarray = TIMES) -> np.ndarray:
    model = MODELS[model_type]
    return np.stack([model.curve(times, p) for p in truth])


def noisy(clean: np.ndarray, sd: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    return clean + rng.normal(0.0, 1.0, clean.shape) * np.reshape(sd, (-1, 1))


def maturation_traces(n_cells: int, seed: int = 0, snr: float = 20.0):
    """(truth, values): noise sd = amplitude / snr, 181 points."""
    rng = np.random.default_rng(seed)
    truth = maturation_truth(n_cells, rng)
    return truth, noisy(curves("maturation", truth), truth[:, 0] / snr, rng)


def tidy_frame(values: np.ndarray, times: np.ndarray = TIMES, n_fovs: int = 1) -> pd.DataFrame:
    """`time, fov, cell, value`; cells spread over FOVs; NaN values become empty cells."""
    n_cells, n_points = values.shape
    fov = np.arange(n_cells) % n_fovs
    cell = np.arange(n_cells) // n_fovs
    return pd.DataFrame(
        {
            "time": np.tile(times, n_cells),
            "fov": np.repeat(fov, n_points),
            "cell": np.repeat(cell, n_points),
            "value": values.ravel(),
        }
    )


def workflow_frame(values: np.ndarray, times: np.ndarray = TIMES, n_fovs: int = 1) -> pd.DataFrame:
    """The workflow's per-FOV trace layout: fov, cell, frame, time, good, positions,
    boxes, then <feature>_ch_<channel> columns (the values as intensity_total_ch_1)."""
    tidy = tidy_frame(values, times, n_fovs)
    n = len(tidy)
    frame = pd.DataFrame(
        {
            "fov": tidy["fov"],
            "cell": tidy["cell"],
            "frame": np.tile(np.arange(values.shape[1]), values.shape[0]),
            "time": tidy["time"] * 60.0,
            "good": True,
            "position_x": 10.0,
            "position_y": 20.0,
            "bbox_x0": 0,
            "bbox_y0": 0,
            "bbox_x1": 5,
            "bbox_y1": 5,
            "area_ch_0": np.full(n, 50.0),
            "intensity_mean_ch_1": tidy["value"] / 50.0,
            "intensity_total_ch_1": tidy["value"],
        }
    )
    return frame


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
