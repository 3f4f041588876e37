"""Deep Zoom tiles per second through the whole path (HTTP -> edge -> gRPC ->
slides service), next to the reference: DeepZoomGenerator plus JPEG encoding
in one process, on the same tiles.

A synthetic Aperio-style SVS (8192 x 6144 px, four levels, JPEG tiles) is
uploaded through the edge; its full-resolution Deep Zoom level has 825 tiles.
wrk drives 1 and 32 keep-alive connections for a few seconds each. Cold runs
ask only for tiles nobody asked for before: fresh uploads of the slide, every
request a different tile (the run fails if the list would repeat). Cached runs
then ask again for the tiles just served. The reference renders the same
tiles with a fresh OpenSlide handle per run, on one thread and on 32, as the
openslide-python example server would (JPEG quality 75).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
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

from benchmarks import scaled
from benchmarks.processes import running
from benchmarks.report import report
from common.settings import DEFAULT_DATABASE_URL

# Small mode keeps enough tiles that a quiet machine's one-second cold run
# (~650 tiles/s at 4 clients) never asks for one twice.
WIDTH, HEIGHT = scaled((8192, 6144), (4096, 3072))
TILE_SIZE, OVERLAP, QUALITY = 254, 1, 75
CONCURRENCY = scaled(32, 4)
# Seconds per wrk run, and copies of the slide behind each cold run: enough
# distinct tiles that no cold request repeats one.
SECONDS = scaled(3, 1)
COLD_COPIES = scaled(3, 4)


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


# wrk walks a list of paths, each connection taking the next one, so every request
# in a run asks for a different tile until the list is used up.
WRK_SCRIPT = """
local paths = {}
local next_path = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  next_path = next_path + 1
  return wrk.format(nil, paths[(next_path - 1) % #paths + 1])
end
"""


def wrk_tiles_per_s(
    base_url: str, paths: list[str], clients: int, seconds: float, folder: Path
) -> tuple[float, int]:
    """Tiles per second from `clients` keep-alive connections driven by wrk (a C load
    generator: its own CPU per request is tens of microseconds, where a Python HTTP
    client spends milliseconds, on the cores the edge and the service need).
    Returns the rate and the number of requests made."""
    script, listing = folder / "tiles.lua", folder / "paths.txt"
    script.write_text(WRK_SCRIPT)
    listing.write_text("\n".join(paths) + "\n")
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "-s", str(script), base_url]
    output = subprocess.run(
        [*command, "--", str(listing)], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failed requests:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return rate, requests


def upload(base_url: str, path: Path) -> str:
    with path.open("rb") as file:
        response = httpx.post(
            f"{base_url}/api/slides/upload", files={"file": (path.name, file)}, timeout=120
        )
    response.raise_for_status()
    return response.json()["id"]


class CpuMeter:
    """CPU seconds spent by wrk (the clients), the edge and the slides service: all
    three share the machine's cores, the reference has only itself."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.processes = {}
        for child in self.me.children():
            command = " ".join(child.cmdline())
            for name in ("edge", "services.slides"):
                if command.endswith(f"-m {name}"):
                    self.processes[name.removeprefix("services.")] = child

    def seconds(self) -> dict[str, float]:
        finished = self.me.cpu_times()  # wrk runs have ended and been waited for
        spent = {"clients (wrk)": finished.children_user + finished.children_system}
        return spent | {name: sum(p.cpu_times()[:2]) for name, p in self.processes.items()}

    def per_tile(self, before: dict[str, float], tiles: int) -> str:
        after = self.seconds()
        return ", ".join(
            f"{name} {(after[name] - before[name]) / tiles * 1000:.2f}" for name in after
        )


def tile_paths(slide_id: str, tiles: list[tuple[int, int, int]]) -> list[str]:
    return [
        f"/api/slides/{slide_id}/dzi_files/{level}/{col}_{row}.jpeg" for level, col, row in tiles
    ]


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench_slides_tiles needs wrk (Debian: apt-get install wrk; make bench does)"
        )
    with tempfile.TemporaryDirectory(prefix="bench-slides-") as folder:
        path = write_svs(Path(folder) / "bench.svs")
        tiles = full_resolution_tiles(path)
        env = {
            "MICROGRAPHIA_DATABASE_URL": os.environ.get(
                "MICROGRAPHIA_DATABASE_URL", DEFAULT_DATABASE_URL
            ),
            "MICROGRAPHIA_SLIDES_DIR": str(Path(folder) / "slides"),
        }
        figures: dict[tuple[str, int], tuple[float, str]] = {}
        # spatial answers the deletes at the end (it has no analyses of these slides).
        with running(["slides", "spatial"], env) as base_url:
            meter = CpuMeter()
            uploaded: list[str] = []
            try:
                for clients in (1, CONCURRENCY):
                    # Cold: fresh uploads of the slide, so no cache (the service's,
                    # the edge's) has seen any of their tiles.
                    ids = [upload(base_url, path) for _ in range(COLD_COPIES)]
                    uploaded += ids
                    paths = [p for slide_id in ids for p in tile_paths(slide_id, tiles)]
                    for slide_id in ids:  # open each slide before the clock starts
                        httpx.get(f"{base_url}/api/slides/{slide_id}/dzi").raise_for_status()
                    before = meter.seconds()
                    rate, made = wrk_tiles_per_s(base_url, paths, clients, SECONDS, Path(folder))
                    if made > len(paths):
                        raise RuntimeError(
                            f"{made} requests for {len(paths)} cold tiles: lower SECONDS"
                        )
                    figures["cold", clients] = rate, meter.per_tile(before, made)
                    # Cached: the tiles just served, asked for again.
                    paths = paths[:made]
                    before = meter.seconds()
                    rate, made = wrk_tiles_per_s(base_url, paths, clients, SECONDS, Path(folder))
                    figures["cached", clients] = rate, meter.per_tile(before, made)
            finally:
                for slide_id in uploaded:
                    httpx.delete(f"{base_url}/api/slides/{slide_id}", timeout=30)
        half_a, half_b = tiles[: len(tiles) // 2], tiles[len(tiles) // 2 :]
        reference = {
            1: reference_tiles_per_s(path, half_a, 1),
            CONCURRENCY: reference_tiles_per_s(path, half_b, CONCURRENCY),
        }
    print(f"   {len(tiles)} full-resolution tiles of {WIDTH} x {HEIGHT} px, {os.cpu_count()} CPUs")
    for (kind, clients), (ours, cpu) in sorted(figures.items(), key=lambda item: item[0][1]):
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
