"""Deep Zoom tiles per second through the whole path (HTTP -> edge -> gRPC ->
slides service), next to the reference: DeepZoomGenerator plus JPEG encoding
in one process, on the same tiles.

A synthetic Aperio-style SVS (8192 x 6144 px, four levels, JPEG tiles) is
uploaded through the edge. Its full-resolution Deep Zoom level has 825 tiles,
split in two halves so every cold run asks for tiles nobody asked for before
(the service's tile cache has never seen them): half A for one client, half B
for 32. The cached runs then ask again for tiles already served. The reference
renders the same halves with a fresh OpenSlide handle per run, on one thread
and on 32, as the openslide-python example server would (JPEG quality 75).
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import openslide
import psutil
import tifffile
from openslide.deepzoom import DeepZoomGenerator

from benchmarks.processes import running
from benchmarks.report import report
from common.settings import DEFAULT_DATABASE_URL

WIDTH, HEIGHT = 8192, 6144
TILE_SIZE, OVERLAP, QUALITY = 254, 1, 75
CONCURRENCY = 32


def synthetic_tissue(width: int, height: int) -> np.ndarray:
    """Pink-and-purple texture with noise: compresses and decodes like stained tissue,
    not like a flat colour."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    blobs = np.sin(xx / 37.0) * np.cos(yy / 29.0) + np.sin((xx + yy) / 97.0)
    image = np.empty((height, width, 3), np.uint8)
    noise = rng.normal(0, 12, (height, width)).astype(np.float32)
    image[..., 0] = np.clip(200 + 30 * blobs + noise, 0, 255)
    image[..., 1] = np.clip(130 + 50 * blobs + noise, 0, 255)
    image[..., 2] = np.clip(190 + 20 * blobs + noise, 0, 255)
    return image


def write_svs(path: Path) -> Path:
    """An Aperio-style SVS: tiled JPEG levels as consecutive pages, MPP in the description."""
    levels = [synthetic_tissue(WIDTH, HEIGHT)]
    for _ in range(3):
        levels.append(np.ascontiguousarray(levels[-1][::4, ::4]))
    description = (
        f"Aperio Image Library v12.0.15 \r\n{WIDTH}x{HEIGHT} [0,0 {WIDTH}x{HEIGHT}] "
        "(256x256) JPEG/RGB Q=80|AppMag = 40|MPP = 0.2500"
    )
    tiled = {"tile": (256, 256), "compression": "jpeg", "photometric": "rgb", "metadata": None}
    with tifffile.TiffWriter(path) as tiff:
        tiff.write(levels[0], description=description, **tiled)
        for level in levels[1:]:
            tiff.write(level, description="Aperio Image Library v12.0.15 ", **tiled)
    return path


def full_resolution_tiles(path: Path) -> list[tuple[int, int, int]]:
    with openslide.OpenSlide(str(path)) as slide:
        generator = DeepZoomGenerator(slide, TILE_SIZE, OVERLAP, limit_bounds=False)
        level = generator.level_count - 1
        cols, rows = generator.level_tiles[level]
    return [(level, col, row) for row in range(rows) for col in range(cols)]


# The reference --------------------------------------------------------------------


def reference_tiles_per_s(path: Path, tiles: list[tuple[int, int, int]], threads: int) -> float:
    """DeepZoomGenerator.get_tile + JPEG encoding, in this process, on `threads` threads."""

    with openslide.OpenSlide(str(path)) as slide:
        generator = DeepZoomGenerator(slide, TILE_SIZE, OVERLAP, limit_bounds=False)

        def render(address: tuple[int, int, int]) -> int:
            level, col, row = address
            tile = generator.get_tile(level, (col, row))
            buffer = io.BytesIO()
            tile.save(buffer, "jpeg", quality=QUALITY, icc_profile=tile.info.get("icc_profile"))
            return len(buffer.getvalue())

        started = time.perf_counter()
        if threads == 1:
            for address in tiles:
                render(address)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(render, tiles))
        return len(tiles) / (time.perf_counter() - started)


# Through the edge -------------------------------------------------------------------


async def http_tiles_per_s(
    base_url: str, slide_id: str, tiles: list[tuple[int, int, int]], clients: int
) -> float:
    """GET every tile once over HTTP from `clients` clients at once; tiles per second.

    Each client is its own httpx.AsyncClient on its own connection, as each
    viewer is: one AsyncClient pooling 32 busy connections spends several
    times more CPU per request in its pool than on the request (measured here:
    about 4.6 ms against 1.4 ms), and this benchmark shares two cores with it.
    """
    sessions = [httpx.AsyncClient(base_url=base_url, timeout=60) for _ in range(clients)]
    try:
        # Open every connection before the clock starts.
        await asyncio.gather(*(session.get(f"/api/slides/{slide_id}") for session in sessions))
        queue = iter(tiles)

        async def viewer(session: httpx.AsyncClient) -> None:
            for level, col, row in queue:
                url = f"/api/slides/{slide_id}/dzi_files/{level}/{col}_{row}.jpeg"
                response = await session.get(url)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(viewer(session) for session in sessions))
        return len(tiles) / (time.perf_counter() - started)
    finally:
        await asyncio.gather(*(session.aclose() for session in sessions))


def upload(base_url: str, path: Path) -> str:
    with path.open("rb") as file:
        response = httpx.post(
            f"{base_url}/api/slides/upload", files={"file": (path.name, file)}, timeout=120
        )
    response.raise_for_status()
    return response.json()["id"]


class CpuMeter:
    """CPU seconds spent by this process (the HTTP clients), the edge and the slides
    service: all three share the machine's cores, the reference has only itself."""

    def __init__(self) -> None:
        me = psutil.Process()
        self.processes = {"clients": me}
        for child in me.children():
            command = " ".join(child.cmdline())
            for name in ("edge", "services.slides"):
                if command.endswith(f"-m {name}"):
                    self.processes[name.removeprefix("services.")] = child

    def seconds(self) -> dict[str, float]:
        return {name: sum(p.cpu_times()[:2]) for name, p in self.processes.items()}

    def per_tile(self, before: dict[str, float], tiles: int) -> str:
        after = self.seconds()
        return ", ".join(
            f"{name} {(after[name] - before[name]) / tiles * 1000:.2f}" for name in after
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-slides-") as folder:
        path = write_svs(Path(folder) / "bench.svs")
        tiles = full_resolution_tiles(path)
        half_a, half_b = tiles[: len(tiles) // 2], tiles[len(tiles) // 2 :]
        # Cold runs ask for tiles never asked for before; cached runs repeat them.
        runs = {
            ("cold", 1): half_a,
            ("cold", CONCURRENCY): half_b,
            ("cached", 1): half_a,
            ("cached", CONCURRENCY): tiles,
        }
        env = {
            "MICROGRAPHIA_DATABASE_URL": os.environ.get(
                "MICROGRAPHIA_DATABASE_URL", DEFAULT_DATABASE_URL
            ),
            "MICROGRAPHIA_SLIDES_DIR": str(Path(folder) / "slides"),
        }
        figures: dict[tuple[str, int], tuple[float, str]] = {}
        # spatial answers the delete at the end (it has no analyses of this slide).
        with running(["slides", "spatial"], env) as base_url:
            slide_id = upload(base_url, path)
            httpx.get(f"{base_url}/api/slides/{slide_id}/dzi").raise_for_status()  # open it
            meter = CpuMeter()
            try:
                for (kind, clients), part in runs.items():
                    before = meter.seconds()
                    rate = asyncio.run(http_tiles_per_s(base_url, slide_id, part, clients))
                    figures[kind, clients] = rate, meter.per_tile(before, len(part))
            finally:
                httpx.delete(f"{base_url}/api/slides/{slide_id}", timeout=30).raise_for_status()
        reference = {
            1: reference_tiles_per_s(path, half_a, 1),
            CONCURRENCY: reference_tiles_per_s(path, half_b, CONCURRENCY),
        }
    print(f"   {len(tiles)} full-resolution tiles of {WIDTH} x {HEIGHT} px, {os.cpu_count()} CPUs")
    for (kind, clients), (ours, cpu) in figures.items():
        target = ">= 0.70" if kind == "cold" else ">= 3.00"
        report(
            f"slides tiles via edge, {kind}, {clients} client(s)",
            ours,
            reference[clients],
            "tiles/s",
            f"{target} of in-process cold, {clients} thread(s)",
        )
        print(f"   CPU ms per tile: {cpu}; reference {1000 / reference[1]:.2f} (1 thread)")


if __name__ == "__main__":
    main()
