"""The per-FOV workflow (copying, segmentation, correction, tracking, extraction)
next to the reference's algorithms written the straightforward way
(reference_workflow.py), on the same frames in the same run.

The movie: synthetic 2048 x 2048 frames with ~250 cells that drift, a phase
channel and a fluorescence channel on a background gradient
(MICROGRAPHIA_BENCH_WORKFLOW_FRAMES frames, default 10), written once under
.bench/workflow/.

- ours: `run_fov` (frames read through the microscopy readers, every step's
  output on disk); with 1 worker, and with 2 workers each processing its own
  copy of the FOV at the same time (frames/s per worker).
- reference: tifffile frame by frame, .npy copies, then per frame the
  reference's segmentation, background, bounding-box IoU tracking and a
  regionprops loop per cell; one worker.

The segmentation masks of both are compared frame by frame and must be
identical. Accuracy is printed too: on the synthetic movie (its truth is
known) and on the real phase-contrast time-lapse in ../shared/data/timelapse
(ground-truth masks; its links are derived by overlap, see scoring.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import tifffile
from numpy.lib.format import open_memmap

from benchmarks import reference_workflow as reference
from benchmarks import scaled
from benchmarks.report import report
from services.microscopy.core.workflow import storage
from services.microscopy.core.workflow.pipeline import (
    ChannelSpec,
    FovTask,
    PipelineParams,
    fov_paths,
    run_fov,
)
from testing import scoring
from testing.synthetic_movie import SyntheticMovie, scattered_cells

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZE = scaled(2048, 512)
CELLS = scaled(250, 16)
TIMELAPSE = (
    Path(os.environ.get("MICROGRAPHIA_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    / "timelapse"
    / "laptrack-cell_segmentation_data_small.npz"
)


def bench_movie(n_frames: int) -> tuple[SyntheticMovie, Path]:
    movie = SyntheticMovie(scattered_cells(CELLS, SIZE, SIZE, seed=1), n_frames, SIZE, SIZE, seed=1)
    folder = REPO_ROOT / ".bench" / "workflow"
    path = folder / f"cells-T{n_frames}-{SIZE}.ome.tif"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"   writing {path.name}", flush=True)
        partial = movie.write_ome_tiff(folder / f"{path.name}.partial.ome.tif")
        os.replace(partial, path)
    return movie, path


def task_for(path: Path, output: str, **params) -> FovTask:
    return FovTask(
        str(path),
        0,
        output,
        ChannelSpec(0, ("area", "aspect_ratio")),
        (ChannelSpec(1, ("intensity_mean", "intensity_total")),),
        PipelineParams(**params),
    )


def timed_run(task: FovTask) -> float:
    started = time.perf_counter()
    run_fov(task)
    return time.perf_counter() - started


def run_reference(path: Path, folder: Path) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """The reference's whole FOV; returns seconds, masks and track label frames."""
    started = time.perf_counter()
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        n_frames = series.shape[0]
        copies = [
            open_memmap(folder / f"ref_ch{c}.npy", "w+", np.uint16, (n_frames, SIZE, SIZE))
            for c in (0, 1)
        ]
        for t in range(n_frames):
            for c in (0, 1):
                copies[c][t] = series.pages[t * 2 + c].asarray()
    masks = [reference.segment_logstd(copies[0][t]) for t in range(n_frames)]
    backgrounds = [reference.background(copies[1][t], masks[t]) for t in range(n_frames)]
    tracks = reference.track_iou(masks)
    reference.extract(tracks, [copies[1][t] for t in range(n_frames)], backgrounds)
    return time.perf_counter() - started, masks, tracks


def print_accuracy(name: str, seg: scoring.SegmentationScore, ctc: dict[str, float]) -> None:
    print(
        f"   {name:<44} precision {seg.precision:.3f} recall {seg.recall:.3f} "
        f"F1 {seg.f1:.3f}  TRA {ctc['TRA']:.3f} DET {ctc['DET']:.3f} LNK {ctc['LNK']:.3f}",
        flush=True,
    )


def real_accuracy(scratch: Path) -> None:
    if not TIMELAPSE.is_file():
        print(f"   real time-lapse not found at {TIMELAPSE}: skipped")
        return
    with np.load(TIMELAPSE) as data:
        images, truth = data["images"], data["labels"]
    movie = scratch / "c2c12.ome.tif"
    tifffile.imwrite(movie, images[:, None], ome=True, metadata={"axes": "TCYX"})
    true_labels, true_parent = scoring.link_true_objects(truth)
    for size, label in ((3, "ours, clean-up 3x3 x3"), (7, "ours, reference clean-up 7x7 x3")):
        task = FovTask(
            str(movie), 0, str(scratch / f"real{size}"), ChannelSpec(0, ("area",)), (),
            PipelineParams(cleanup_size=size, min_frames=1, border_margin=0),
        )  # fmt: skip
        run_fov(task)
        paths = fov_paths(task)
        labels = np.asarray(storage.open_array(paths.labels))
        seg = scoring.score_segmentation(list(storage.open_array(paths.mask)), list(truth))
        if labels.any():
            ctc = scoring.score_tracking(
                labels, scoring.tracks_parent(paths.tracks), true_labels, true_parent
            )
        else:
            ctc = {"TRA": 0.0, "DET": 0.0, "LNK": 0.0}
        print_accuracy(f"real time-lapse, {label}", seg, ctc)
        if size == 3:  # the reference's tracking (boxes, frame-0 cells only) on the same masks
            theirs = np.stack(reference.track_iou(list(storage.open_array(paths.mask))))
            no_parents = {i: -1 for i in range(int(theirs.max()))}
            ctc = scoring.score_tracking(theirs, no_parents, true_labels, true_parent)
            print_accuracy("real time-lapse, same masks, reference tracking", seg, ctc)


def main() -> None:
    n_frames = int(os.environ.get("MICROGRAPHIA_BENCH_WORKFLOW_FRAMES") or scaled(10, 3))
    movie, path = bench_movie(n_frames)
    scratch = Path(tempfile.mkdtemp(prefix="bench-workflow-", dir=REPO_ROOT / ".bench"))
    try:
        run_fov(task_for(path, str(scratch / "warm-up")))  # compile the kernels once
        shutil.rmtree(scratch / "warm-up")

        ours_s = timed_run(task_for(path, str(scratch / "ours")))
        ref_s, ref_masks, ref_tracks = run_reference(path, scratch)
        masks = storage.open_array(fov_paths(task_for(path, str(scratch / "ours"))).mask)
        identical = all(np.array_equal(masks[t], ref_masks[t]) for t in range(n_frames))
        assert identical, "segmentation masks differ from the reference's"
        print(f"   segmentation masks identical to the reference's: {n_frames} frames", flush=True)

        with ProcessPoolExecutor(2) as pool:
            tasks = [task_for(path, str(scratch / f"pool{i}")) for i in range(2)]
            list(pool.map(run_fov, [task_for(path, str(scratch / f"warm{i}")) for i in range(2)]))
            started = time.perf_counter()
            list(pool.map(run_fov, tasks))
            two_s = time.perf_counter() - started

        ours_fps, ref_fps = n_frames / ours_s, n_frames / ref_s
        print(
            f"   seconds per frame: ours {ours_s / n_frames:.3f}, reference "
            f"{ref_s / n_frames:.3f}; 2 workers, each FOV {two_s / n_frames:.3f}",
            flush=True,
        )
        report(
            f"workflow {SIZE}x{SIZE}, 1 worker (frames/s)", ours_fps, ref_fps, "frames/s", ">= 10"
        )
        report(
            f"workflow {SIZE}x{SIZE}, 2 workers (frames/s/worker)",
            n_frames / two_s,
            ref_fps,
            "frames/s",
            ">= 10",
        )

        paths = fov_paths(task_for(path, str(scratch / "ours")))
        truth = np.stack([movie.truth_labels(t) for t in range(n_frames)])
        no_parents = {c.id: -1 for c in movie.cells}
        print_accuracy(
            "synthetic, ours",
            scoring.score_segmentation(list(masks), list(truth)),
            scoring.score_tracking(
                np.asarray(storage.open_array(paths.labels)),
                scoring.tracks_parent(paths.tracks),
                truth,
                no_parents,
            ),
        )
        ref_labels = np.stack(ref_tracks)
        print_accuracy(
            "synthetic, reference",
            scoring.score_segmentation(ref_masks, list(truth)),
            scoring.score_tracking(
                ref_labels, {i: -1 for i in range(int(ref_labels.max()))}, truth, no_parents
            ),
        )
        real_accuracy(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
