"""Cellpose on microscopy frames: ours through the inference service next to
Cellpose's own `CellposeModel.eval` called frame by frame in-process.

Both run the same network with the same weights (Cellpose-SAM with seeded random
weights, saved once as a checkpoint that both load: no pretrained weights can be
had here) on the same device, in this one run, on the same frames:

- ours: the inference service as its own process (`python -m services.inference`,
  MICROGRAPHIA_CELLPOSE_WEIGHTS=<the checkpoint>), called over gRPC as the
  workflow's segmentation step calls it (services.microscopy.cellpose_client:
  SegmentFrames per batch of frames, the tiles of a batch's frames sharing the
  device's batches, flows turned into masks on threads beside the device);
- reference: `CellposeModel(pretrained_model=<the checkpoint>).eval(frame)` for each
  frame, Cellpose's own loop (normalise, tile, run, average, dynamics, in turn).

The service runs its network on its runtime (services/inference/core/runtime.py:
on a CPU, OpenVINO by default, in the network's bf16; BENCH_CELLPOSE_RUNTIME sets
MICROGRAPHIA_INFERENCE_RUNTIME for it, e.g. `torch` for Cellpose's own torch
bf16 forward pass); the reference is always Cellpose's torch. Converting the ViT-L
for OpenVINO (minutes on a busy CPU, once per weights: the graph is cached) is
part of loading, not of the figures.

Figures: frames/s of each and the ratio; and how many frames got identical labels
(all of them on torch; on OpenVINO, bf16 rounding in other places moves flows by
a little, which can move a pixel or a whole faint random-weight cell).
Size: BENCH_CELLPOSE_FRAMES frames of BENCH_CELLPOSE_SIZE px (default 4 of 512 on a
CPU, 16 of 2048 on a GPU; small mode 1 of 192), BENCH_CELLPOSE_BATCH tiles per
forward pass for both (default 8 on a CPU, 32 on a GPU). Both are warmed up first
(not in the small mode: a ViT-L on a busy CPU takes its time).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import grpc
import numpy as np
import torch

from benchmarks import scaled
from benchmarks.processes import running_services
from benchmarks.report import report
from common.cellpose import CellposeOptions
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from services.microscopy.cellpose_client import RemoteCellpose

GPU = torch.cuda.is_available()
DEVICE = "cuda:0" if GPU else "cpu"
FRAMES = int(os.environ.get("BENCH_CELLPOSE_FRAMES", scaled(16 if GPU else 4, 1)))
SIZE = int(os.environ.get("BENCH_CELLPOSE_SIZE", scaled(2048 if GPU else 512, 192)))
SMALL = scaled(False, True)
BATCH = int(os.environ.get("BENCH_CELLPOSE_BATCH", 32 if GPU else 8))
RUNTIME = os.environ.get("BENCH_CELLPOSE_RUNTIME", "auto")


def frames(count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    """Phase-contrast-like uint16 frames: cells as bright rings on a noisy background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for _ in range(count):
        frame = rng.normal(1000, 30, (size, size))
        for _ in range(size * size // 2500):
            y, x, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(8, 16)
            d = np.hypot(yy - y, xx - x)
            frame[d < r] += 400 * np.exp(-((d[d < r] - 0.7 * r) ** 2) / 8)
        out.append(np.clip(frame, 0, 65535).astype(np.uint16))
    return out


def save_random_checkpoint(folder: Path) -> Path:
    from services.inference.core.cellpose.weights import random_network

    path = folder / "cpsam-random.pt"
    torch.save(random_network(dtype=torch.float32).state_dict(), path)
    return path


def wait_loaded(address: str, timeout: float = 1800) -> inference_pb2.GetCellposeInfoResponse:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = inference_pb2_grpc.InferenceServiceStub(channel)
        while True:
            info = stub.GetCellposeInfo(inference_pb2.GetCellposeInfoRequest(), timeout=10)
            if info.loaded or info.error or time.monotonic() > deadline:
                return info
            time.sleep(0.5)


def ours(address: str, movie: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    cellpose = RemoteCellpose(address)
    options = CellposeOptions()
    per_call = cellpose.frames_per_call(movie[0].nbytes)
    if not SMALL:
        list(cellpose.segment(movie[:1], options))  # warm-up
    started = time.perf_counter()
    labels = []
    for start in range(0, len(movie), per_call):
        labels += list(cellpose.segment(movie[start : start + per_call], options))
    return len(movie) / (time.perf_counter() - started), labels


def reference(checkpoint: Path, movie: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    from cellpose import models

    model = models.CellposeModel(pretrained_model=str(checkpoint), device=torch.device(DEVICE))
    if not SMALL:
        model.eval(movie[0], batch_size=BATCH)  # warm-up
    started = time.perf_counter()
    labels = [model.eval(frame, batch_size=BATCH)[0] for frame in movie]
    return len(movie) / (time.perf_counter() - started), labels


def main() -> None:
    movie = frames(FRAMES, SIZE)
    print(
        f"   {FRAMES} frames of {SIZE} x {SIZE} on {DEVICE}, {BATCH} tiles per batch, "
        f"service runtime {RUNTIME}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-cellpose-") as folder:
        checkpoint = save_random_checkpoint(Path(folder))
        env = {
            "MICROGRAPHIA_CELLPOSE_WEIGHTS": str(checkpoint),
            "MICROGRAPHIA_INFERENCE_WEIGHTS": "random",
            "MICROGRAPHIA_INFERENCE_DEVICE": DEVICE,
            "MICROGRAPHIA_INFERENCE_CELLPOSE_BATCH_SIZE": str(BATCH),
            "MICROGRAPHIA_INFERENCE_RUNTIME": RUNTIME,
        }
        with running_services(["inference"], env, timeout=600) as addresses:
            info = wait_loaded(addresses["inference"])
            if not info.loaded:
                raise RuntimeError(f"Cellpose did not load: {info.error}")
            ours_fps, ours_labels = ours(addresses["inference"], movie)
        reference_fps, reference_labels = reference(checkpoint, movie)
    same = sum(np.array_equal(a, b) for a, b in zip(ours_labels, reference_labels, strict=True))
    per_minute = reference_fps < 1  # a ViT-L on a CPU: frames a minute, not a second
    scale, unit = (60.0, "frames/min") if per_minute else (1.0, "frames/s")
    report(
        f"cellpose {SIZE}px {unit} (service vs eval)",
        ours_fps * scale,
        reference_fps * scale,
        unit,
        "1.5x on a GPU" if GPU else None,
    )
    print(f"   labels identical to Cellpose's own on {same}/{len(movie)} frames", flush=True)
