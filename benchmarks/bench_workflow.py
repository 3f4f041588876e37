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
identical. Accuracy is printed too, for every segmentation method the
workflow registers (pipeline.SEGMENTATION_METHODS; a learned one only where its
weights exist, else "no weights"): segmentation precision/recall/F1 and
tracking TRA/DET/LNK on the synthetic movie (its truth is known) and on the real
phase-contrast time-lapse in ../shared/data/timelapse (ground-truth masks; its
links are derived by overlap, see testing/scoring.py). And the background: each
dim cell's fluorescence total against the truth on flat, linear, curved and
uneven fields (testing/background_fields.py), every background method
(background.METHODS), with the time each takes per frame.
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
from services.microscopy.core.workflow import background, pipeline, storage
from services.microscopy.core.workflow.pipeline import (
    ChannelSpec,
    FovTask,
    PipelineParams,
    fov_paths,
    run_fov,
)
from testing import scoring
from testing.background_fields import FIELDS, background_errors, hard_cells
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


def task_for(path: Path, output: str, segmenter=None, **params) -> FovTask:
    extra = {"segmenter": segmenter} if segmenter is not None else {}
    return FovTask(
        str(path),
        0,
        output,
        ChannelSpec(0, ("area", "aspect_ratio")),
        (ChannelSpec(1, ("intensity_mean", "intensity_total")),),
        PipelineParams(**params),
        **extra,
    )


def learned_segmenter(method: str):
    """(segmenter, None) for a learned method whose trained weights are served, else
    (None, why). Accuracy needs trained weights (random ones find nothing worth
    scoring): name them in MICROGRAPHIA_<METHOD>_WEIGHTS for an inference service
    started with them, and give its address in MICROGRAPHIA_BENCH_INFERENCE."""
    setting = f"MICROGRAPHIA_{method.upper()}_WEIGHTS"
    weights = os.environ.get(setting, "")
    if not weights or weights == "random":
        return None, f"no weights ({setting} is {weights or 'unset'})"
    address = os.environ.get("MICROGRAPHIA_BENCH_INFERENCE", "")
    if not address:
        return None, "no inference service serving them (MICROGRAPHIA_BENCH_INFERENCE unset)"
    if method != "cellpose":
        return None, f"no client for {method} in this benchmark"
    from services.microscopy.cellpose_client import RemoteCellpose

    return RemoteCellpose(address), None


def segmentation_methods() -> list[tuple[str, object]]:
    """(method, segmenter or None) for every registered method that can run here;
    prints why the others cannot."""
    remote = getattr(pipeline, "REMOTE_METHODS", ())
    runnable = []
    for method in pipeline.SEGMENTATION_METHODS:
        if method not in remote:
            runnable.append((method, None))
            continue
        segmenter, why = learned_segmenter(method)
        if segmenter is None:
            print(f"   {method}: not scored, {why}", flush=True)
        else:
            runnable.append((method, segmenter))
    return runnable


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


def scored_run(task: FovTask, truth, true_labels, true_parent):
    """Run `task`; its segmentation score and CTC measures against the truth."""
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
    return paths, seg, ctc


def real_accuracy(scratch: Path, methods: list[tuple[str, object]]) -> None:
    if not TIMELAPSE.is_file():
        print(f"   real time-lapse not found at {TIMELAPSE}: skipped")
        return
    with np.load(TIMELAPSE) as data:
        images, truth = data["images"], data["labels"]
    movie = scratch / "c2c12.ome.tif"
    tifffile.imwrite(movie, images[:, None], ome=True, metadata={"axes": "TCYX"})
    true_labels, true_parent = scoring.link_true_objects(truth)
    for method, segmenter in methods:
        # logstd twice: the clean-up that fits these ~11 px cells, and the reference's
        sizes = ((3, ", clean-up 3x3 x3"), (7, ", reference clean-up 7x7 x3"))
        for size, label in sizes if method == "logstd" else ((7, ""),):
            params = PipelineParams(
                segmentation_method=method, cleanup_size=size, min_frames=1, border_margin=0
            )
            output = str(scratch / f"real-{method}{size}")
            extra = {"segmenter": segmenter} if segmenter is not None else {}
            task = FovTask(str(movie), 0, output, ChannelSpec(0, ("area",)), (), params, **extra)
            paths, seg, ctc = scored_run(task, truth, true_labels, true_parent)
            print_accuracy(f"real time-lapse, {method}{label}", seg, ctc)
            if method == "logstd" and size == 3:
                # the reference's tracking (boxes, frame-0 cells only) on the same masks
                theirs = np.stack(reference.track_iou(list(storage.open_array(paths.mask))))
                no_parents = {i: -1 for i in range(int(theirs.max()))}
                ctc = scoring.score_tracking(theirs, no_parents, true_labels, true_parent)
                print_accuracy("real time-lapse, same masks, reference tracking", seg, ctc)


def background_accuracy() -> None:
    """Every background method on known fields: each dim cell's total against the truth
    (cells in the corners and cut by the frame edge), and the time per frame."""
    for name, field in FIELDS.items():
        cells = hard_cells(SIZE, SIZE, seed=4)
        movie = SyntheticMovie(cells, 1, SIZE, SIZE, seed=4, background_field=field)
        frame, labels = movie.fluorescence(0), movie.truth_labels(0)
        totals = np.array([cell.fluorescence_total for cell in cells])
        parts = []
        for method in background.METHODS.values():
            method.render(method.fit(frame, labels > 0), frame.shape)  # warm
            started = time.perf_counter()
            estimate = method.render(method.fit(frame, labels > 0), frame.shape)
            seconds = time.perf_counter() - started
            errors = np.abs(background_errors(labels, movie.background(), estimate, totals))
            parts.append(
                f"{method.name} worst {100 * errors.max():7.2f}% median "
                f"{100 * np.median(errors):6.2f}% ({1000 * seconds:4.0f} ms)"
            )
        print(f"   background {name:<7} {SIZE}x{SIZE}, {len(cells)} dim cells: "
              + " | ".join(parts), flush=True)  # fmt: skip


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

        truth = np.stack([movie.truth_labels(t) for t in range(n_frames)])
        no_parents = {c.id: -1 for c in movie.cells}
        methods = segmentation_methods()
        for method, segmenter in methods:
            if method == "logstd":  # the timed run above
                task = task_for(path, str(scratch / "ours"))
                paths = fov_paths(task)
                seg = scoring.score_segmentation(list(masks), list(truth))
                ctc = scoring.score_tracking(
                    np.asarray(storage.open_array(paths.labels)),
                    scoring.tracks_parent(paths.tracks),
                    truth,
                    no_parents,
                )
            else:
                task = task_for(
                    path, str(scratch / f"synthetic-{method}"), segmenter,
                    segmentation_method=method,
                )  # fmt: skip
                _, seg, ctc = scored_run(task, truth, truth, no_parents)
            print_accuracy(f"synthetic, {method}", seg, ctc)
        ref_labels = np.stack(ref_tracks)
        print_accuracy(
            "synthetic, reference",
            scoring.score_segmentation(ref_masks, list(truth)),
            scoring.score_tracking(
                ref_labels, {i: -1 for i in range(int(ref_labels.max()))}, truth, no_parents
            ),
        )
        real_accuracy(scratch, methods)
        background_accuracy()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
