"""Memory of one FOV worker, for a 30- and a 180-frame FOV: `run_fov` next to the
straightforward reference (bench_workflow's: frames copied to .npy, then every
frame's mask and background kept in lists while it tracks and extracts).

Each run happens in a fresh process (as on a pool worker) and reports two peaks
above the process's state after imports:
- peak RSS (ru_maxrss): everything resident, including pages of memory-mapped
  step files, which the kernel may drop at any time;
- peak anonymous memory (RssAnon, sampled every 5 ms): what the worker really
  holds, the figure that must stay at a few frames whatever the movie length.

Frames are MICROGRAPHIA_BENCH_MEMORY_SIZE px square (default 512, ~40 cells),
so one frame of one channel is 0.5 MiB and a 180-frame channel 90 MiB.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import tifffile
from numpy.lib.format import open_memmap

from benchmarks import scaled
from benchmarks.processes import REPO_ROOT

SIZE = int(os.environ.get("MICROGRAPHIA_BENCH_MEMORY_SIZE") or 512)
FRAME_COUNTS = scaled((30, 180), (4, 12))
MIB = 1024 * 1024


def _anonymous_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class _PeakSampler:
    """Samples RssAnon in a thread; `peak` is the highest value seen."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.peak = _anonymous_bytes()
        self._stop = threading.Event()
        self._interval_s = interval_s
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _anonymous_bytes())
            self._stop.wait(self._interval_s)

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _anonymous_bytes())


def _ours(path: str, output: str) -> None:
    from services.microscopy.core.workflow.pipeline import (
        ChannelSpec,
        FovTask,
        PipelineParams,
        run_fov,
    )

    task = FovTask(
        path,
        0,
        output,
        ChannelSpec(0, ("area", "aspect_ratio")),
        (ChannelSpec(1, ("intensity_mean", "intensity_total")),),
        PipelineParams(min_frames=2, border_margin=0),
    )
    run_fov(task)


def _reference(path: str, output: str) -> None:
    from benchmarks import reference_workflow as reference

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        n_frames = series.shape[0]
        copies = [
            open_memmap(Path(output) / f"ref_ch{c}.npy", "w+", np.uint16, (n_frames, SIZE, SIZE))
            for c in (0, 1)
        ]
        for t in range(n_frames):
            for c in (0, 1):
                copies[c][t] = series.pages[t * 2 + c].asarray()
    masks = [reference.segment_logstd(copies[0][t]) for t in range(n_frames)]
    backgrounds = [reference.background(copies[1][t], masks[t]) for t in range(n_frames)]
    tracks = reference.track_iou(masks)
    reference.extract(tracks, [copies[1][t] for t in range(n_frames)], backgrounds)


def measure(kind: str, path: str, output: str) -> tuple[float, float, float]:
    """In a fresh worker process: (peak RSS MiB, peak anonymous MiB, seconds) of one FOV,
    above the process's state once everything is imported."""
    import benchmarks.reference_workflow  # noqa: F401  (imports are not the run's memory)
    import services.microscopy.core.workflow.pipeline  # noqa: F401

    work = _ours if kind == "ours" else _reference
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    anonymous_before = _anonymous_bytes()
    started = time.perf_counter()
    with _PeakSampler() as sampler:
        work(path, output)
    seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return (
        (rss_after - rss_before) / MIB,
        (sampler.peak - anonymous_before) / MIB,
        seconds,
    )


def _movie(n_frames: int) -> Path:
    from testing.synthetic_movie import SyntheticMovie, scattered_cells

    folder = REPO_ROOT / ".bench" / "workflow_memory"
    path = folder / f"cells-T{n_frames}-{SIZE}.ome.tif"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        cells = scattered_cells(max(4, round(250 * (SIZE / 2048) ** 2)), SIZE, SIZE, seed=2)
        movie = SyntheticMovie(cells, n_frames, SIZE, SIZE, seed=2)
        with np.errstate(divide="ignore", invalid="ignore"):  # cells that drifted out
            partial = movie.write_ome_tiff(folder / f"{path.name}.partial.ome.tif")
        os.replace(partial, path)
    return path


def _in_fresh_process(kind: str, path: Path) -> tuple[float, float, float]:
    scratch = tempfile.mkdtemp(prefix=f"memory-{kind}-", dir=path.parent)
    try:
        context = get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(measure, kind, str(path), scratch).result()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    frame_mib = SIZE * SIZE * 2 / MIB
    print(f"   frames {SIZE} x {SIZE} uint16 ({frame_mib:.2f} MiB per frame and channel)")
    runs = {}
    for n_frames in FRAME_COUNTS:
        path = _movie(n_frames)
        runs[n_frames] = (_in_fresh_process("ours", path), _in_fresh_process("reference", path))
        ours, reference = runs[n_frames]
        for label, index in (("peak anonymous memory", 1), ("peak RSS (with mapped files)", 0)):
            ratio = reference[index] / ours[index] if ours[index] > 0 else float("nan")
            print(
                f"   {n_frames:>3} frames {label:<29} ours {ours[index]:8.1f} MiB   "
                f"reference {reference[index]:8.1f} MiB   reference/ours {ratio:6.2f}",
                flush=True,
            )
        print(f"   {n_frames:>3} frames time: ours {ours[2]:.1f} s, reference {reference[2]:.1f} s")
    short, long = FRAME_COUNTS[0], FRAME_COUNTS[-1]
    extra = long - short
    for label, index in (("anonymous", 1), ("RSS", 0)):
        ours = (runs[long][0][index] - runs[short][0][index]) / extra / frame_mib
        reference = (runs[long][1][index] - runs[short][1][index]) / extra / frame_mib
        print(
            f"   growth per extra frame, {label:<9}: ours {ours:6.2f} frames   "
            f"reference {reference:6.2f} frames (of one channel)",
            flush=True,
        )


if __name__ == "__main__":
    main()
