"""The per-FOV pipeline: copying, segmentation, correction, tracking, extraction.

`run_fov` is the one entry point workers call. It is a top-level function of
picklable arguments, so a process pool or a Dask cluster can run it. Every step
writes its outputs under a temporary name and renames them when complete, and
skips itself when they already exist: a re-run or a restart after a crash
resumes where the last run stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STEPS: tuple[str, ...] = ("copying", "segmentation", "correction", "tracking", "extraction")

SEGMENTATION_METHODS: tuple[str, ...] = ("logstd",)


class Cancelled(Exception):
    """Raised by `run_fov` when `should_stop()` returned True; finished outputs are kept."""


@dataclass(frozen=True)
class ChannelSpec:
    """One channel of the file and the features to extract on it."""

    channel: int
    features: tuple[str, ...]  # feature ids (core/features.py)


@dataclass(frozen=True)
class PipelineParams:
    """Science settings; defaults are the reference's (pyama-reference.md)."""

    segmentation_method: str = "logstd"
    background_weight: float = 1.0  # clamped to [0, 1]
    max_gap: int = 2  # frames a cell may be missing and keep its track
    min_frames: int = 30  # a cell present in fewer frames is not `good`
    border_margin: int = 50  # a cell whose box comes this close to the edge is not `good`


@dataclass(frozen=True)
class FovTask:
    """All a worker needs to process one FOV; picklable (travels to pool / Dask workers)."""

    microscopy_path: str  # already resolved inside the data roots
    fov: int
    output_dir: str  # already resolved; the per-FOV folder is <output_dir>/fov_XXX
    phase: ChannelSpec | None
    fluorescence: tuple[ChannelSpec, ...]
    params: PipelineParams = field(default_factory=PipelineParams)


@dataclass(frozen=True)
class FovResult:
    """What one FOV produced (for the results index)."""

    fov: int
    traces_csv: str  # <output_dir>/fov_XXX/<base>_fov_XXX_traces.csv
    n_cells: int  # tracks found
    n_good_cells: int  # tracks kept by the min_frames / border_margin filters
    n_frames: int
    n_rows: int  # rows of the trace CSV
    time_unit: str  # "min" or "frame"
    divisions: int  # tracks that have a parent


@dataclass(frozen=True)
class FovPaths:
    """Where each step of one FOV writes (see README.md, "Files")."""

    fov_dir: Path
    raw: dict[int, Path]  # copying: channel -> (T, H, W) uint16 .npy
    mask: Path  # segmentation: (T, H, W) bool .npy
    background: dict[int, Path]  # correction: fluorescence channel -> (T, H, W) float32 .npy
    labels: Path  # tracking: (T, H, W) int32 .npy, 0 = background, else track id + 1
    tracks: Path  # tracking: one row per track (cell, parent, first_frame, last_frame)
    traces: Path  # extraction: the trace CSV


def fov_paths(task: FovTask) -> FovPaths:
    """The files of `task`'s FOV (nothing is created)."""
    raise NotImplementedError


def step_done(task: FovTask, step: str) -> bool:
    """True when `step`'s outputs for this FOV all exist (finished and renamed)."""
    raise NotImplementedError


def run_fov(
    task: FovTask,
    on_progress: Callable[[str, int, int], None] = lambda step, done, total: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> FovResult:
    """All five steps for one FOV.

    Each step skips when its output already exists, so a re-run or a restart
    resumes. Calls `should_stop()` at least once per frame and raises `Cancelled`
    when it returns True; calls `on_progress(step, frames_done, frames_total)` at
    least once per frame.
    """
    raise NotImplementedError
