"""python -m benchmarks.postprocess_share: how much of a CPU region is post-processing.

On one region (BENCH_INFERENCE_PX, default 1024 px at 0.25 um/px, the painted
tissue of bench_inference), in this one run: the network (the service's CPU
runtime, seeded random weights) over the region's patches, then HoVerNet's
post-processing (maps -> instances: edges.py, watershed.py, instances.py) of
the stitched canvas, timed on the random network's maps and on the oracle's
(the painted nuclei's ideal maps: a realistic number of nuclei, ~1 per 30 px
square). Each post-processing figure is the best of BENCH_POSTPROCESS_REPEATS
(default 3), printed as a share of the network's time.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.bench_inference import MPP, SPEC, array_reader, painted_tissue
from services.inference.core import NetworkPredictor, SegmentationConfig, SlideFacts, plan_region
from services.inference.core.pixels import read_model_pixels
from services.inference.core.segmentation import Canvas, _batches, _chunks, _tile_nuclei


def stitched(tile, rgb: np.ndarray, predictor, batch: int) -> Canvas:
    canvas = Canvas.for_tile(tile)
    positions = tile.grid.positions()
    batches = _batches(tile, rgb, positions, batch, lambda: None)
    for chunk, maps in zip(_chunks(positions, batch), predictor.predict(batches), strict=True):
        canvas.place(tile, chunk, maps)
    return canvas


def postprocess(canvas: Canvas, tile, valid, plan, slide, repeats: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        count = len(_tile_nuclei(tile, canvas.filtered(), valid, plan, slide, SPEC))
        best = min(best, time.perf_counter() - started)
    return best, count


def main() -> None:
    from services.inference.core.model import random_network
    from services.inference.core.runtime import choose_runtime
    from testing.oracle import OraclePredictor

    size = int(os.environ.get("BENCH_INFERENCE_PX") or 1024)
    batch = int(os.environ.get("BENCH_INFERENCE_BATCH") or 4)
    repeats = int(os.environ.get("BENCH_POSTPROCESS_REPEATS") or 3)
    runtime = choose_runtime(os.environ.get("BENCH_INFERENCE_RUNTIME") or "auto", "cpu")
    image, painted = painted_tissue(size)
    slide = SlideFacts(size, size, MPP, (1.0,))
    plan = plan_region(slide, 0, 0, size, size, SPEC, SegmentationConfig(batch_size=batch))
    (tile,) = plan.tiles
    pixels = read_model_pixels(array_reader(image), (size, size), plan.resolution, tile.grid.read)
    context = tile.grid.context
    valid = pixels.valid[context:-context, context:-context]

    network = NetworkPredictor(
        random_network(SPEC, seed=0), "cpu", SPEC.patch_input, SPEC.patch_output, "fp32", runtime
    )
    stitched(tile, pixels.rgb, network, batch)  # warm: first inference compiles
    started = time.perf_counter()
    canvas = stitched(tile, pixels.rgb, network, batch)
    network_s = time.perf_counter() - started
    random_s, random_n = postprocess(canvas, tile, valid, plan, slide, repeats)
    oracle = stitched(tile, pixels.rgb, OraclePredictor(), batch)
    oracle_s, oracle_n = postprocess(oracle, tile, valid, plan, slide, repeats)
    shape = canvas.shape
    print(
        f"   {size} x {size} px, {tile.grid.count} patches ({runtime}, batch {batch}, "
        f"{os.cpu_count()} cores), canvas {shape[1]} x {shape[0]} px: network {network_s:.2f} s"
    )
    print(
        f"   post-processing, random network's maps: {random_s:.3f} s ({random_n} nuclei), "
        f"{random_s / network_s:.1%} of the network"
    )
    print(
        f"   post-processing, oracle maps ({painted} painted nuclei): {oracle_s:.3f} s "
        f"({oracle_n} nuclei), {oracle_s / network_s:.1%} of the network"
    )


if __name__ == "__main__":
    main()
