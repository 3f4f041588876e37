"""The per-FOV pipeline: copying, segmentation, correction, tracking, extraction.

`run_fov` is the one entry point workers call. It is a top-level function of
picklable arguments, so a process pool or a Dask cluster can run it. Every step
writes its outputs under a temporary name and renames them when complete, and
skips itself when they already exist: a re-run or a restart after a crash
resumes where the last run stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from common.cellpose import CellposeOptions
from common.errors import InvalidArgument

from .. import features
from ..extensions import file_extension
from ..readers import open_reader
from ..readers.base import check_index
from . import background, extraction, segmentation, storage, tracking

STEPS: tuple[str, ...] = ("copying", "segmentation", "correction", "tracking", "extraction")

# Methods whose frames are segmented by a model served elsewhere (the inference service).
REMOTE_METHODS: tuple[str, ...] = ("cellpose",)
# Every method: the local registry segmentation.SEGMENTERS (name -> function), then
# the learned ones.
SEGMENTATION_METHODS: tuple[str, ...] = (*segmentation.SEGMENTERS, *REMOTE_METHODS)


class FrameSegmenter(Protocol):
    """A learned segmentation served elsewhere: batches of frames in, instance labels out."""

    def frames_per_call(self, frame_bytes: int) -> int:
        """How many frames of this size one call takes."""
        ...

    def segment(
        self,
        frames: Sequence[np.ndarray],
        options: CellposeOptions,
        should_stop: Callable[[], bool],
        on_wait: Callable[[str], None],
    ) -> Iterator[np.ndarray]:
        """Each frame's labels (0 background, 1..n cells), in order; `on_wait(service)`
        while it waits out an outage of the service it calls."""
        ...


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
    background_method: str = background.DEFAULT_METHOD  # background.METHODS
    background_weight: float = 1.0  # clamped to [0, 1]
    max_gap: int = 2  # frames a cell may be missing and keep its track
    min_frames: int = 30  # a cell present in fewer frames is not `good`
    border_margin: int = 50  # a cell whose box comes this close to the edge is not `good`
    cleanup_size: int = 7  # logstd clean-up: square side (odd) ...
    cleanup_iterations: int = 3  # ... and iterations of the opening and the closing
    cellpose: CellposeOptions | None = None  # segmentation_method "cellpose": its options


@dataclass(frozen=True)
class FovTask:
    """All a worker needs to process one FOV; picklable (travels to pool / Dask workers)."""

    microscopy_path: str  # already resolved inside the data roots
    fov: int
    output_dir: str  # already resolved; the per-FOV folder is <output_dir>/fov_XXX
    phase: ChannelSpec | None
    fluorescence: tuple[ChannelSpec, ...]
    params: PipelineParams = field(default_factory=PipelineParams)
    # Where learned methods (REMOTE_METHODS) run; None where none is reachable.
    segmenter: FrameSegmenter | None = None


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
    mask: Path  # segmentation: (T, H, W) bool .npy; learned methods: int32 instance labels
    background: dict[int, Path]  # correction: channel -> (T, ...) per-frame background models
    labels: Path  # tracking: (T, H, W) uint16 (int32 past 65534 tracks): 0 none, else cell + 1
    tracks: Path  # tracking: one row per track (cell, parent, first_frame, last_frame)
    traces: Path  # extraction: the trace CSV


# on_progress(step, frames_done, frames_total); with `waiting="inference"` while the
# step waits for that service (see ProgressFile).
Progress = Callable[..., None]
StopCheck = Callable[[], bool]


def base_name(microscopy_path: str) -> str:
    """The file's name without its extension ("experiment" for experiment.ome.tif)."""
    name = Path(microscopy_path).name
    extension = file_extension(name) or ""
    return name[: len(name) - len(extension)] if extension else name


def fov_paths(task: FovTask) -> FovPaths:
    """The files of `task`'s FOV (nothing is created)."""
    fov_dir = Path(task.output_dir) / f"fov_{task.fov:03d}"
    stem = f"{base_name(task.microscopy_path)}_fov_{task.fov:03d}"
    channels = sorted({spec.channel for spec in _channel_specs(task)})
    return FovPaths(
        fov_dir=fov_dir,
        raw={c: fov_dir / f"{stem}_raw_ch_{c}.npy" for c in channels},
        mask=fov_dir / f"{stem}_mask.npy",
        # The method is in the name: a run with another method never reuses these.
        background={
            spec.channel: fov_dir
            / f"{stem}_background_{task.params.background_method}_ch_{spec.channel}.npy"
            for spec in task.fluorescence
        },
        labels=fov_dir / f"{stem}_labels.npy",
        tracks=fov_dir / f"{stem}_tracks.csv",
        traces=fov_dir / f"{stem}_traces.csv",
    )


def _channel_specs(task: FovTask) -> tuple[ChannelSpec, ...]:
    return ((task.phase,) if task.phase else ()) + tuple(task.fluorescence)


def _step_outputs(paths: FovPaths, step: str) -> list[Path]:
    return {
        "copying": list(paths.raw.values()),
        "segmentation": [paths.mask],
        "correction": list(paths.background.values()),
        "tracking": [paths.labels, paths.tracks],
        "extraction": [paths.traces],
    }[step]


def step_done(task: FovTask, step: str) -> bool:
    """True when `step`'s outputs for this FOV all exist (finished and renamed)."""
    if step not in STEPS:
        raise InvalidArgument(f"unknown step {step!r}; steps: {', '.join(STEPS)}", step=step)
    return all(path.exists() for path in _step_outputs(fov_paths(task), step))


class _Steps:
    """Per-frame bookkeeping shared by the steps: cancellation and progress."""

    def __init__(self, n_frames: int, on_progress: Progress, should_stop: StopCheck) -> None:
        self.n_frames = n_frames
        self._on_progress = on_progress
        self._should_stop = should_stop

    def frames(self, step: str) -> Iterator[int]:
        """Frame indices of `step`; checks for cancellation before, reports after each."""
        self._on_progress(step, 0, self.n_frames)
        for t in range(self.n_frames):
            if self._should_stop():
                raise Cancelled(f"cancelled during {step} at frame {t}")
            yield t
            self._on_progress(step, t + 1, self.n_frames)

    def batches(self, step: str, size: int) -> Iterator[range]:
        """Frame ranges of `size` frames; checks for cancellation before each and reports
        progress through `done(t)` per finished frame."""
        self._on_progress(step, 0, self.n_frames)
        for start in range(0, self.n_frames, size):
            if self._should_stop():
                raise Cancelled(f"cancelled during {step} at frame {start}")
            yield range(start, min(start + size, self.n_frames))

    def done(self, step: str, frames: int) -> None:
        self._on_progress(step, frames, self.n_frames)

    def waiting(self, step: str, frames: int, service: str) -> None:
        self._on_progress(step, frames, self.n_frames, waiting=service)

    def skipped(self, step: str) -> None:
        if self._should_stop():
            raise Cancelled(f"cancelled before {step}")
        self._on_progress(step, self.n_frames, self.n_frames)


def run_fov(
    task: FovTask,
    on_progress: Progress = lambda step, done, total: None,
    should_stop: StopCheck = lambda: False,
) -> FovResult:
    """All five steps for one FOV.

    Each step skips when its output already exists, so a re-run or a restart
    resumes. Calls `should_stop()` at least once per frame and raises `Cancelled`
    when it returns True; calls `on_progress(step, frames_done, frames_total)` at
    least once per frame.
    """
    params = task.params
    if params.segmentation_method not in SEGMENTATION_METHODS:
        supported = ", ".join(SEGMENTATION_METHODS)
        raise InvalidArgument(
            f"unsupported segmentation method {params.segmentation_method!r}; "
            f"supported: {supported}",
            segmentation_method=params.segmentation_method,
        )
    if params.background_method not in background.METHODS:
        raise InvalidArgument(
            f"unsupported background method {params.background_method!r}; "
            f"supported: {', '.join(background.METHODS)}",
            background_method=params.background_method,
        )
    if params.cleanup_size < 1 or params.cleanup_size % 2 == 0 or params.cleanup_iterations < 1:
        raise InvalidArgument(
            "cleanup_size must be an odd positive integer and cleanup_iterations at least 1",
            cleanup_size=params.cleanup_size,
            cleanup_iterations=params.cleanup_iterations,
        )
    for name in ("max_gap", "min_frames", "border_margin"):
        if getattr(params, name) < 0:
            raise InvalidArgument(f"{name} must be >= 0", **{name: getattr(params, name)})
    known = features.phase_feature_ids() | features.fluorescence_feature_ids()
    for spec in _channel_specs(task):
        unknown = sorted(set(spec.features) - known)
        if unknown:
            raise InvalidArgument(
                f"unknown feature {', '.join(unknown)} for channel {spec.channel}; "
                f"known: {', '.join(sorted(known))}",
                channel=spec.channel,
            )
    if task.phase is None:
        raise InvalidArgument("segmentation needs a phase-contrast channel; none was given")
    if params.segmentation_method in REMOTE_METHODS and task.segmenter is None:
        raise InvalidArgument(
            f"segmentation method {params.segmentation_method!r} needs the inference service, "
            "and this run has none",
            segmentation_method=params.segmentation_method,
        )
    paths = fov_paths(task)
    with open_reader(task.microscopy_path) as reader:
        md = reader.metadata
        check_index("fov", task.fov, md.n_fovs)
        for spec in _channel_specs(task):
            check_index("channel", spec.channel, md.n_channels)
        shape = reader.frame_shape(task.fov)
        steps = _Steps(md.n_frames, on_progress, should_stop)
        paths.fov_dir.mkdir(parents=True, exist_ok=True)
        _copy(reader, task.fov, paths, shape, steps)
    times, time_unit = md.time_points, md.time_unit
    _segment(paths, task.phase.channel, params, steps, task.segmenter, should_stop)
    _correct(paths, background.METHODS[params.background_method], steps)
    _track(paths, params.max_gap, steps)
    return _extract(task, paths, shape, times, time_unit, steps)


def _as_uint16(frame: np.ndarray) -> np.ndarray:
    if frame.dtype in (np.uint8, np.uint16):
        return frame.astype(np.uint16, copy=False)
    return np.clip(np.rint(frame), 0, 65535).astype(np.uint16)


def _copy(reader, fov: int, paths: FovPaths, shape: tuple[int, int], steps: _Steps) -> None:
    todo = {c: path for c, path in paths.raw.items() if not path.exists()}
    if not todo:
        steps.skipped("copying")
        return
    with contextlib.ExitStack() as stack:
        writers = {
            c: stack.enter_context(storage.new_frames(path, steps.n_frames, shape, np.uint16))
            for c, path in todo.items()
        }
        for t in steps.frames("copying"):
            for c, writer in writers.items():
                writer.write(_as_uint16(reader.read_frame(fov, t, c)))


def _segment(
    paths: FovPaths,
    channel: int,
    params: PipelineParams,
    steps: _Steps,
    segmenter: FrameSegmenter | None = None,
    should_stop: StopCheck = lambda: False,
) -> None:
    if paths.mask.exists():
        steps.skipped("segmentation")
        return
    if params.segmentation_method in REMOTE_METHODS:
        _segment_remotely(paths, channel, params, steps, segmenter, should_stop)
        return
    segment = segmentation.SEGMENTERS[params.segmentation_method]
    raw = storage.open_array(paths.raw[channel])
    with storage.new_frames(paths.mask, steps.n_frames, raw.shape[1:], bool) as mask:
        for t in steps.frames("segmentation"):
            mask.write(segment(raw[t], params.cleanup_size, params.cleanup_iterations))


def _segment_remotely(
    paths: FovPaths,
    channel: int,
    params: PipelineParams,
    steps: _Steps,
    segmenter: FrameSegmenter | None,
    should_stop: StopCheck,
) -> None:
    """A learned method, batch by batch of frames: instance labels (int32), so that
    touching cells stay apart through tracking and extraction."""
    assert segmenter is not None  # run_fov checked
    options = params.cellpose or CellposeOptions()
    raw = storage.open_array(paths.raw[channel])
    size = segmenter.frames_per_call(raw[0].nbytes)
    with storage.new_frames(paths.mask, steps.n_frames, raw.shape[1:], np.int32) as mask:
        for batch in steps.batches("segmentation", size):
            frames = [np.asarray(raw[t]) for t in batch]

            def on_wait(service: str, start: int = batch.start) -> None:
                steps.waiting("segmentation", start, service)

            for t, labels in zip(
                batch, segmenter.segment(frames, options, should_stop, on_wait), strict=True
            ):
                mask.write(labels.astype(np.int32, copy=False))
                steps.done("segmentation", t + 1)


def _correct(paths: FovPaths, method: background.BackgroundMethod, steps: _Steps) -> None:
    todo = {c: path for c, path in paths.background.items() if not path.exists()}
    if not todo:
        steps.skipped("correction")
        return
    mask = storage.open_array(paths.mask)
    h, w = mask.shape[1:]
    grid = method.model_shape((h, w))
    with contextlib.ExitStack() as stack:
        models = {
            c: stack.enter_context(storage.new_frames(path, steps.n_frames, grid, np.float64))
            for c, path in todo.items()
        }
        raws = {c: storage.open_array(paths.raw[c]) for c in todo}
        for t in steps.frames("correction"):
            cells = np.asarray(mask[t]).astype(bool, copy=False)  # instance labels too
            for c, model in models.items():
                model.write(method.fit(raws[c][t], cells))


def _track(paths: FovPaths, max_gap: int, steps: _Steps) -> None:
    if paths.labels.exists() and paths.tracks.exists():
        steps.skipped("tracking")
        return
    mask = storage.open_array(paths.mask)
    frames = steps.frames("tracking")
    result = tracking.track_objects(
        (tracking.label_objects(mask[t]) for t in frames), max_gap=max_gap
    )
    dtype = np.uint16 if result.n_tracks < np.iinfo(np.uint16).max else np.int32
    # Second pass: each frame's objects relabelled with their track id + 1.
    frame = np.empty(mask.shape[1:], dtype)
    with storage.new_frames(paths.labels, steps.n_frames, mask.shape[1:], dtype) as labels:
        for t in range(steps.n_frames):
            objects, n = tracking.label_objects(mask[t])
            tracking.relabel(objects, result.lookup(t, n), frame)
            labels.write(frame)
    table = pd.DataFrame(
        {
            "cell": np.arange(result.n_tracks),
            "parent": result.parent,
            "first_frame": result.first_frame,
            "last_frame": result.last_frame,
        }
    )
    with storage.new_file(paths.tracks) as tmp:
        table.to_csv(tmp, index=False)


def feature_columns(task: FovTask) -> list[tuple[str, int, str]]:
    """(column, channel, feature) in the trace CSV's order: phase features first, then
    fluorescence channels ascending, features alphabetical."""
    columns = []
    if task.phase is not None:
        columns += [
            (f"{f}_ch_{task.phase.channel}", task.phase.channel, f)
            for f in sorted(task.phase.features)
        ]
    for spec in sorted(task.fluorescence, key=lambda s: s.channel):
        columns += [(f"{f}_ch_{spec.channel}", spec.channel, f) for f in sorted(spec.features)]
    return columns


TRACE_COLUMNS = (
    "fov",
    "cell",
    "frame",
    "time",
    "good",
    "position_x",
    "position_y",
    "bbox_x0",
    "bbox_y0",
    "bbox_x1",
    "bbox_y1",
)


def _extract(task, paths, shape, times, time_unit, steps: _Steps) -> FovResult:
    tracks = pd.read_csv(paths.tracks)
    if paths.traces.exists():
        steps.skipped("extraction")
        traces = pd.read_csv(paths.traces)
        return _result(task, paths, traces, tracks, steps.n_frames, time_unit)
    params = task.params
    weight = min(max(float(params.background_weight), 0.0), 1.0)
    method = background.METHODS[params.background_method]
    columns = feature_columns(task)
    intensity_channels = sorted({c for _, c, f in columns if f.startswith("intensity")})
    labels = storage.open_array(paths.labels)
    raws = {c: storage.open_array(paths.raw[c]) for c in intensity_channels}
    models = {c: storage.open_array(p) for c, p in paths.background.items()}
    parts = []
    for t in steps.frames("extraction"):
        channels = [
            (
                c,
                np.asarray(raws[c][t]),
                method.render(np.asarray(models[c][t]), shape)
                if c in models
                else None,  # phase: B = 0
            )
            for c in intensity_channels
        ]
        m = extraction.measure_frame(np.asarray(labels[t]), channels, weight)
        part = {
            "cell": m.cell,
            "frame": np.full(len(m.cell), t),
            "time": np.full(len(m.cell), times[t]),
            "position_x": m.centroid_x,
            "position_y": m.centroid_y,
            "bbox_x0": m.bbox[:, 0],
            "bbox_y0": m.bbox[:, 1],
            "bbox_x1": m.bbox[:, 2],
            "bbox_y1": m.bbox[:, 3],
        }
        for name, c, feature in columns:
            part[name] = {
                "area": m.area,
                "aspect_ratio": m.aspect_ratio,
                "intensity_total": m.intensity_total.get(c),
                "intensity_mean": m.intensity_mean.get(c),
            }[feature]
        parts.append(pd.DataFrame(part))
    traces = pd.concat(parts, ignore_index=True)
    traces = _finish_traces(task, traces, tracks, shape, [name for name, _, _ in columns])
    with storage.new_file(paths.traces) as tmp:
        traces.to_csv(tmp, index=False)
    return _result(task, paths, traces, tracks, steps.n_frames, time_unit)


def _finish_traces(task, traces, tracks, shape, feature_names) -> pd.DataFrame:
    """Add fov, good and parent; order columns and rows as the CSV specifies."""
    params = task.params
    h, w = shape
    margin = params.border_margin
    near_edge = (
        (traces["bbox_x0"] < margin)
        | (traces["bbox_y0"] < margin)
        | (traces["bbox_x1"] > w - margin)
        | (traces["bbox_y1"] > h - margin)
    )
    per_cell = pd.DataFrame({"cell": traces["cell"], "near_edge": near_edge}).groupby("cell")
    good_cells = (per_cell["near_edge"].size() >= params.min_frames) & ~per_cell["near_edge"].any()
    traces["fov"] = task.fov
    traces["good"] = traces["cell"].map(good_cells).fillna(False).astype(bool)
    traces["parent"] = traces["cell"].map(tracks.set_index("cell")["parent"]).fillna(-1).astype(int)
    traces = traces.sort_values(["cell", "frame"], kind="stable", ignore_index=True)
    return traces[[*TRACE_COLUMNS, *feature_names, "parent"]]


def _result(task, paths, traces, tracks, n_frames, time_unit) -> FovResult:
    parents = tracks["parent"]
    return FovResult(
        fov=task.fov,
        traces_csv=str(paths.traces),
        n_cells=len(tracks),
        n_good_cells=int(traces.loc[traces["good"], "cell"].nunique()),
        n_frames=n_frames,
        n_rows=len(traces),
        time_unit=time_unit,
        divisions=int(parents[parents >= 0].nunique()),
    )
