"""HoVerNet on a slide region: our pipeline next to tiatoolbox's own engine.

Both run on the same region at 0.25 um/px, with the same network (HoVerNet
fast, six types, seeded random weights: no pretrained weights can be had
here), the same batch size and the same device, in this one run:

- ours: services.inference.core (global patch grid, canvases stitched on the
  device, the dense half of post-processing there and the sparse half on CPU
  threads while the device runs the next tile, autocast on CUDA), pixels from
  an in-memory level reader (the service's gRPC transport is not in the
  figure);
- reference: tiatoolbox's NucleusInstanceSegmentor on the same pixels as a
  VirtualWSIReader at 0.25 um/px.

Figures: patches/s and seconds per mm^2 of region, each with the ratio.

Random weights give HoVerNet maps near 0.5 everywhere (no nuclei, or a few
blobs), so a match of random nuclei says little. The nuclei match (count
within 1 %, >= 99 % matched at IoU >= 0.5) is therefore also measured with an
oracle network in HoVerNet's place (testing/oracle_network.py: a HoVerNet whose
forward pass draws the painted nuclei's ideal maps), run by both engines.

Size: BENCH_INFERENCE_PX (region edges in px, comma-separated; default 4000
(1 mm) on a GPU, "400,1024" on a CPU; each size is its own side-by-side run), or
BENCH_INFERENCE_MM (one edge in mm); BENCH_INFERENCE_BATCH (default 4 on a CPU,
64 on a GPU). Runtime: BENCH_INFERENCE_RUNTIME (the service's setting: auto,
torch, openvino) and BENCH_INFERENCE_PRECISION (default bf16: autocast on CUDA,
fp32 for OpenVINO on the CPU, as the service). Post-processing:
BENCH_INFERENCE_TILE (px, default 2048), BENCH_INFERENCE_WORKERS (threads,
default one per core) or BENCH_INFERENCE_PROCESSES (worker processes instead).
On a GPU both engines are warmed up first on a corner big enough for full
batches (cuDNN picks its algorithms per batch shape; tiatoolbox compiles the
network); on the CPU ours compiles its network once, before the clock, as the
service does at start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks import scaled
from benchmarks.report import report
from services.inference.core import (
    ModelSpec,
    NetworkPredictor,
    NucleiFound,
    SegmentationConfig,
    SlideFacts,
    plan_region,
    segment_region,
)
from services.inference.core.segmentation import postprocess_pool
from testing.oracle import BACKGROUND, TYPE_COLOURS

MPP = 0.25
SPEC = ModelSpec()


def painted_tissue(size: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """A size x size RGB image: light textured background, dark nuclei (discs and
    ellipses, 4-9 px radius, types by colour) about every 30 px, some touching patch
    seams. Returns the image and the number of nuclei painted."""
    rng = np.random.default_rng(seed)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = BACKGROUND
    noise = rng.normal(0, 6, (size, size, 1))
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    # Nuclei on a jittered lattice keep them apart (the oracle reads touching ones as one).
    step = 30
    count = 0
    for cy in range(step // 2, size, step):
        for cx in range(step // 2, size, step):
            x, y = cx + rng.uniform(-5, 5), cy + rng.uniform(-5, 5)
            a, b = rng.uniform(5, 9), rng.uniform(4, 8)
            colour = TYPE_COLOURS[int(rng.integers(1, 6))]
            cv2.ellipse(
                image,
                (round(x * 16), round(y * 16)),
                (round(a * 16), round(b * 16)),
                float(rng.uniform(0, 180)),
                0,
                360,
                colour,
                -1,
                cv2.LINE_8,
                4,
            )
            count += 1
    return image, count


def array_reader(image: np.ndarray):
    def read(level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        return image[y : y + height, x : x + width]

    return read


@dataclass
class Run:
    seconds: float
    patches: int
    centroids: np.ndarray  # N x 2
    contours: list[np.ndarray]


def run_ours(image: np.ndarray, predictor, batch: int, pool=None) -> Run:
    size = image.shape[0]
    tile = int(os.environ.get("BENCH_INFERENCE_TILE") or 2048)
    workers = int(os.environ.get("BENCH_INFERENCE_WORKERS") or (os.cpu_count() or 2))
    config = SegmentationConfig(
        batch_size=batch, tile_size=tile, margin=64, postprocess_workers=workers
    )
    slide = SlideFacts(size, size, MPP, (1.0,))
    plan = plan_region(slide, 0, 0, size, size, SPEC, config)
    events: list = []
    _sync(predictor.device)
    started = time.perf_counter()
    read = array_reader(image)
    summary = segment_region(
        plan, slide, SPEC, predictor, read, config, events.append, postprocess=pool
    )
    _sync(predictor.device)
    seconds = time.perf_counter() - started
    nuclei = [n for e in events if isinstance(e, NucleiFound) for n in e.nuclei]
    return Run(
        seconds,
        summary.patches,
        np.array([(n.x, n.y) for n in nuclei]).reshape(-1, 2),
        [n.contour for n in nuclei],
    )


def tiatoolbox_engine(network, device: str, batch: int, compile_mode: str = "default"):
    """tiatoolbox's NucleusInstanceSegmentor around `network` (it torch.compiles the
    network on GPUs that support it, as it does for any user)."""
    from tiatoolbox import rcParam
    from tiatoolbox.models.engine.nucleus_instance_segmentor import NucleusInstanceSegmentor

    rcParam["torch_compile_mode"] = compile_mode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NucleusInstanceSegmentor(
            model=network, batch_size=batch, device=device, verbose=False
        )


def run_tiatoolbox(image: np.ndarray, engine, device: str, workdir: Path) -> Run:
    import zarr
    from tiatoolbox.models.engine.io_config import IOInstanceSegmentorConfig

    resolution = {"units": "mpp", "resolution": MPP}
    ioconfig = IOInstanceSegmentorConfig(
        input_resolutions=[resolution],
        output_resolutions=[resolution] * 3,
        margin=128,
        tile_shape=[2048, 2048],
        patch_input_shape=[SPEC.patch_input] * 2,
        patch_output_shape=[SPEC.patch_output] * 2,
        stride_shape=[SPEC.patch_output] * 2,
        save_resolution=resolution,
    )
    out = workdir / f"tia-{time.monotonic_ns()}"
    # The engine opens its input by path: the same pixels as a .npy virtual slide.
    source = out.with_suffix(".npy")
    np.save(source, image)
    _sync(device)
    started = time.perf_counter()
    result = engine.run(
        [source],
        patch_mode=False,
        ioconfig=ioconfig,
        save_dir=out,
        output_type="zarr",
        auto_get_mask=False,
        overwrite=True,
        wsireader_kwargs={"mpp": (MPP, MPP)},
    )
    _sync(device)
    seconds = time.perf_counter() - started
    store = zarr.open(str(next(iter(result.values()))), mode="r")
    centroids = np.asarray(store["centroid"][...], dtype=float).reshape(-1, 2)
    contours = [c[c[:, 0] > -(2**30)] for c in np.asarray(store["contours"][...])]
    shutil.rmtree(out, ignore_errors=True)
    # Patches: counted on our grid for the same region, so both figures are the same work.
    return Run(seconds, 0, centroids, contours)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def interior(run: Run, size: int, border: float = 16.0) -> Run:
    """The nuclei whose centroid lies `border` px or more inside the image: a nucleus
    cut by the slide's own edge is kept by ours, dropped by tiatoolbox's merge."""
    keep = [
        i
        for i, (x, y) in enumerate(run.centroids)
        if border <= x < size - border and border <= y < size - border
    ]
    return Run(
        run.seconds,
        run.patches,
        run.centroids[keep].reshape(-1, 2),
        [run.contours[i] for i in keep],
    )


def match(ours: Run, theirs: Run) -> tuple[int, int, float]:
    """(ours, theirs, fraction of ours matched one-to-one at IoU >= 0.5)."""
    if len(ours.centroids) == 0 or len(theirs.centroids) == 0:
        both_empty = len(ours.centroids) == len(theirs.centroids)
        return len(ours.centroids), len(theirs.centroids), 1.0 if both_empty else 0.0
    from scipy.spatial import cKDTree

    tree = cKDTree(theirs.centroids)
    used: set[int] = set()
    matched = 0
    for i, centroid in enumerate(ours.centroids):
        for j in tree.query_ball_point(centroid, 8.0):
            if j not in used and _iou(ours.contours[i], theirs.contours[j]) >= 0.5:
                used.add(j)
                matched += 1
                break
    return len(ours.centroids), len(theirs.centroids), matched / len(ours.centroids)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    points = np.vstack([a, b])
    origin = np.floor(points.min(axis=0)).astype(int)
    shape = np.ceil(points.max(axis=0)).astype(int) - origin + 3
    masks = []
    for contour in (a, b):
        mask = np.zeros((shape[1], shape[0]), np.uint8)
        cv2.fillPoly(mask, [np.round(contour - origin).astype(np.int32)], 1)
        masks.append(mask.astype(bool))
    union = (masks[0] | masks[1]).sum()
    return float((masks[0] & masks[1]).sum() / union) if union else 0.0


def describe(label: str, ours: Run, theirs: Run, size: int) -> None:
    for where, a, b in (
        ("all", ours, theirs),
        ("16 px or more from the image edge", interior(ours, size), interior(theirs, size)),
    ):
        n_ours, n_theirs, share = match(a, b)
        apart = abs(n_ours - n_theirs) / max(n_theirs, 1)
        print(
            f"   {label}, {where}: nuclei ours {n_ours}, tiatoolbox {n_theirs} "
            f"({apart:.2%} apart, target <= 1 %), matched at IoU >= 0.5: {share:.1%} "
            f"(target >= 99 %)",
            flush=True,
        )


def sizes(gpu: bool) -> list[int]:
    """Region edges in px: BENCH_INFERENCE_PX, else BENCH_INFERENCE_MM, else the defaults."""
    if os.environ.get("BENCH_INFERENCE_PX"):
        return [int(px) for px in os.environ["BENCH_INFERENCE_PX"].split(",")]
    if os.environ.get("BENCH_INFERENCE_MM"):
        return [round(float(os.environ["BENCH_INFERENCE_MM"]) * 1000 / MPP)]
    return scaled([4000] if gpu else [400, 1024], [160])


def main() -> None:
    import torch

    from services.inference.core.model import random_network, select_device
    from services.inference.core.runtime import TORCH, choose_runtime
    from testing.oracle_network import OracleHoVerNet

    device = select_device(os.environ.get("BENCH_INFERENCE_DEVICE") or None)
    gpu = device.startswith("cuda")
    runtime = choose_runtime(os.environ.get("BENCH_INFERENCE_RUNTIME") or "auto", device)
    batch = int(os.environ.get("BENCH_INFERENCE_BATCH") or (64 if gpu else 4))
    precision = os.environ.get("BENCH_INFERENCE_PRECISION") or ("bf16" if gpu else "fp32")
    oracle_px = int(os.environ.get("BENCH_INFERENCE_ORACLE_PX") or scaled(1200, 164))
    # Post-processing in worker processes instead of threads (0: threads).
    processes = int(os.environ.get("BENCH_INFERENCE_PROCESSES") or 0)
    ours_only = os.environ.get("BENCH_INFERENCE_OURS_ONLY") == "1"
    card = torch.cuda.get_device_name(0) if gpu else f"CPU ({os.cpu_count()} cores)"
    edges = sizes(gpu)
    print(
        f"   device {device} ({card}), runtime {runtime}, regions "
        f"{', '.join(f'{px} x {px}' for px in edges)} px at {MPP} um/px, batch {batch}, "
        f"precision {precision if gpu or runtime != TORCH else 'fp32'}, post-processing in "
        f"{f'{processes} processes' if processes else f'{os.cpu_count()} threads'}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    pool = postprocess_pool(processes) if processes else None
    try:
        started = time.perf_counter()
        predictor = NetworkPredictor(
            random_network(SPEC, seed=0),
            device,
            SPEC.patch_input,
            SPEC.patch_output,
            precision,
            runtime,
        )
        print(f"   ours: network ready in {time.perf_counter() - started:.1f} s", flush=True)
        engine = (
            None if ours_only else tiatoolbox_engine(random_network(SPEC, seed=0), device, batch)
        )
        image, _ = painted_tissue(max(edges))
        if gpu:
            # Warm-up: enough patches for full batches (1400 px: 100 patches with margins).
            corner = image[: min(max(edges), 1400), : min(max(edges), 1400)].copy()
            run_ours(corner, predictor, batch, pool)  # cuDNN
            if engine is not None:
                run_tiatoolbox(corner, engine, device, workdir)  # torch.compile
        for size in edges:
            compare(image[:size, :size].copy(), predictor, engine, device, batch, pool, workdir)
        if ours_only:
            return
        # The match that means something: the oracle network in both engines (its
        # forward pass is numpy: torch runs it, whatever the runtime).
        oracle_size = min(max(edges), oracle_px)
        oracle_image = image[:oracle_size, :oracle_size].copy()
        oracle = NetworkPredictor(
            OracleHoVerNet(), device, SPEC.patch_input, SPEC.patch_output, "fp32"
        )
        ours_o = run_ours(oracle_image, oracle, batch, pool)
        oracle_engine = tiatoolbox_engine(OracleHoVerNet(), device, batch, "disable")
        theirs_o = run_tiatoolbox(oracle_image, oracle_engine, device, workdir)
        describe(
            f"oracle network on {oracle_size} x {oracle_size} px", ours_o, theirs_o, oracle_size
        )
        print(f"   oracle run: ours {ours_o.seconds:.1f} s, tiatoolbox {theirs_o.seconds:.1f} s")
    finally:
        if pool is not None:
            pool.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)


def compare(image: np.ndarray, predictor, engine, device: str, batch: int, pool, workdir) -> None:
    """Ours, then tiatoolbox's engine (if any) on the same region, and the ratios."""
    size = image.shape[0]
    area_mm2 = (size * MPP / 1000) ** 2
    # Ours first, so its figures stand even if the reference fails.
    ours = run_ours(image, predictor, batch, pool)
    print(
        f"   {size} x {size} px ({area_mm2:.3f} mm^2), ours: {ours.patches} patches in "
        f"{ours.seconds:.2f} s = {ours.patches / ours.seconds:.2f} patch/s, "
        f"{ours.seconds / area_mm2:.2f} s/mm^2, {len(ours.centroids)} nuclei",
        flush=True,
    )
    if engine is None:
        return
    theirs = run_tiatoolbox(image, engine, device, workdir)
    target = ">= 2x on a GPU" if device.startswith("cuda") else ">= 1.5x on the CPU"
    report(
        f"{size} px, random weights: patches/s (our grid's)",
        ours.patches / ours.seconds,
        ours.patches / theirs.seconds,
        "patch/s",
    )
    report(
        f"{size} px, random weights: regions/hour",
        3600 / ours.seconds,
        3600 / theirs.seconds,
        "region/h",
        target,
    )
    print(
        f"   {size} px: seconds ours {ours.seconds:.2f}, tiatoolbox {theirs.seconds:.2f}; "
        f"per mm^2 ours {ours.seconds / area_mm2:.2f}, tiatoolbox {theirs.seconds / area_mm2:.2f}",
        flush=True,
    )
    describe(f"{size} px, random weights", ours, theirs, size)


if __name__ == "__main__":
    main()
