"""Segment a slide region: plan, read, predict, stitch, post-process, report.

`plan_region` checks a request before any work (InvalidArgument for an empty
rectangle, one outside the slide, or one over the configured size).
`segment_region` then runs it, blocking, and reports through `emit`:

    tiles   the region (model space) cut into cores of `tile_size` px, each
            with `margin` px of patches around it, so a nucleus whose centroid
            lies in a core is whole on that tile's canvas; the patches over the
            core run first, then (on the CPU) only those of the margin that a
            nucleus reaching into the core comes near (`_margin_wanted`), until
            none is wanted: a small box in the middle of a slide runs its own
            patches and the few its edge nuclei need, not the margin's whole
            ring;
    overlap pixels of tile n+1 are read while tile n runs; batches are
            stitched into a canvas where the maps are (the GPU on CUDA), the
            dense half of post-processing runs there (edges.py), and only its
            results are copied back, without waiting; tile n's sparse half
            (watershed.py) runs on a CPU worker while the device runs tile n+1;
    report  progress after every batch, a tile's nuclei as soon as it is
            post-processed, then the summary.

A nucleus is reported when its centroid lies inside the requested rectangle,
by the one tile whose core holds it, with its whole contour; pixels beyond the
slide are white and masked out of the nuclear map.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import TYPE_CHECKING

import cv2
import numpy as np

from common.errors import Cancelled, InvalidArgument
from common.lifetime import die_with

from .geometry import (
    Rect,
    Resolution,
    Tile,
    choose_resolution,
    level0_rect_to_model,
    model_to_level0,
    plan_tiles,
)
from .instances import measure, perimeter, shoelace_area
from .model import ModelSpec
from .pixels import LevelReader, ModelPixels, read_model_pixels
from .predictor import Maps, Predictor
from .watershed import instance_labels

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class SlideFacts:
    """What the pipeline needs to know about a slide."""

    width: int
    height: int
    mpp: float | None
    level_downsamples: tuple[float, ...]


@dataclass(frozen=True)
class SegmentationConfig:
    """Tuning of the pipeline (the service's settings)."""

    batch_size: int = 8
    # Core edge of one canvas, model pixels.
    tile_size: int = 2048
    # Patches around each core, model pixels: more than the largest nucleus radius.
    margin: int = 64
    # The largest region accepted, in model pixels (width x height).
    max_region_pixels: int = 16384 * 16384
    # CPU threads post-processing tiles while the device runs the next.
    postprocess_workers: int = 2


@dataclass(frozen=True)
class RegionPlan:
    """A checked request: the clamped level-0 rectangle and how it is read."""

    x: int
    y: int
    width: int
    height: int
    resolution: Resolution
    region: Rect  # model space
    tiles: tuple[Tile, ...]

    @property
    def patches(self) -> int:
        """Patches run whatever the pixels: those over each tile's core."""
        return sum(tile.first.count for tile in self.tiles)

    @property
    def most_patches(self) -> int:
        """Patches run if nuclei reach into every patch of the margins."""
        return sum(tile.grid.count for tile in self.tiles)


@dataclass(frozen=True)
class Nucleus:
    """One nucleus in level-0 pixel coordinates."""

    x: float
    y: float
    cell_type: int
    cell_type_name: str
    probability: float
    contour: np.ndarray  # K x 2 float64 (x, y)
    area_px: float
    area_um2: float
    perimeter_um: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = self.contour.min(axis=0), self.contour.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True)
class Progress:
    current: int
    total: int
    message: str

    @property
    def percentage(self) -> float:
        return 100.0 * self.current / self.total if self.total else 100.0


@dataclass(frozen=True)
class NucleiFound:
    nuclei: list[Nucleus]


@dataclass(frozen=True)
class Summary:
    plan: RegionPlan
    total_nuclei: int
    patches: int
    duration_s: float
    notes: tuple[str, ...] = field(default=())


Event = Progress | NucleiFound | Summary


def plan_region(
    slide: SlideFacts,
    x: int,
    y: int,
    width: int,
    height: int,
    spec: ModelSpec,
    config: SegmentationConfig,
) -> RegionPlan:
    """Clamp and check a level-0 rectangle; InvalidArgument before any work."""
    if width <= 0 or height <= 0:
        raise InvalidArgument(
            f"region width and height must be positive, got {width} x {height}",
            width=width,
            height=height,
        )
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + width, slide.width), min(y + height, slide.height)
    if right <= left or bottom <= top:
        raise InvalidArgument(
            f"region x={x} y={y} width={width} height={height} lies outside the slide "
            f"({slide.width} x {slide.height} pixels)",
            x=x,
            y=y,
            width=width,
            height=height,
        )
    resolution = choose_resolution(slide.mpp, list(slide.level_downsamples), spec.mpp)
    region = level0_rect_to_model(left, top, right - left, bottom - top, resolution.scale)
    pixels = math.ceil(region.width) * math.ceil(region.height)
    if pixels > config.max_region_pixels:
        raise InvalidArgument(
            f"region of {right - left} x {bottom - top} level-0 pixels is "
            f"{math.ceil(region.width)} x {math.ceil(region.height)} pixels at the model's "
            f"resolution, over the limit of {config.max_region_pixels}; segment a smaller region",
            limit=config.max_region_pixels,
            requested=pixels,
        )
    # The whole slide in model space: the margins stop at its edges.
    bounds = level0_rect_to_model(0, 0, slide.width, slide.height, resolution.scale)
    tiles = plan_tiles(
        region, config.tile_size, config.margin, spec.patch_input, spec.patch_output, bounds
    )
    return RegionPlan(left, top, right - left, bottom - top, resolution, region, tuple(tiles))


def segment_region(
    plan: RegionPlan,
    slide: SlideFacts,
    spec: ModelSpec,
    predictor: Predictor,
    read: LevelReader,
    config: SegmentationConfig,
    emit: Callable[[Event], None],
    cancelled: threading.Event | None = None,
    postprocess: Executor | None = None,
) -> Summary:
    """Run a planned segmentation, reporting through `emit`; raises Cancelled when
    `cancelled` is set (checked before every batch, and by a network predictor
    before every layer).

    `postprocess`: where stitched tiles are post-processed (a long-lived
    `postprocess_pool`); by default threads of this call."""
    cancelled = cancelled or threading.Event()
    started = time.perf_counter()
    # Margin patches on demand where a patch costs seconds (the CPU); on a GPU one
    # costs milliseconds, less than the host waiting for the device to decide.
    on_demand = predictor.device.startswith("cpu")
    # Shrinks as margin patches turn out not to be needed.
    total = plan.most_patches
    done = 0
    reported = 0

    def read_tile(tile: Tile) -> ModelPixels:
        return read_model_pixels(read, (slide.width, slide.height), plan.resolution, tile.grid.read)

    def check() -> None:
        if cancelled.is_set():
            raise Cancelled(f"segmentation cancelled after {done} of {total} patches")

    emit(Progress(0, total, f"Reading {len(plan.tiles)} tile(s), at most {total} patches"))
    own = None
    if postprocess is None:
        own = ThreadPoolExecutor(config.postprocess_workers, thread_name_prefix="inference-post")
    post = postprocess or own
    with (
        ThreadPoolExecutor(1, thread_name_prefix="inference-read") as reader,
        own or nullcontext(),
    ):
        upcoming = reader.submit(read_tile, plan.tiles[0])
        finishing: deque[Future[list[Nucleus]]] = deque()
        for tile in plan.tiles:
            check()
            pixels = upcoming.result()
            if tile.index + 1 < len(plan.tiles):
                upcoming = reader.submit(read_tile, plan.tiles[tile.index + 1])
            context = tile.grid.context
            valid = pixels.valid[context:-context, context:-context]
            canvas = Canvas.for_tile(tile)
            run: set[tuple[int, int]] = set()
            wanted = tile.first_positions() if on_demand else tile.grid.positions()
            while wanted:
                batches = _batches(tile, pixels.rgb, wanted, config.batch_size, check)
                for chunk, maps in zip(
                    _chunks(wanted, config.batch_size),
                    predictor.predict(batches, cancelled),
                    strict=True,
                ):
                    canvas.place(tile, chunk, maps)
                    done += len(maps)
                    emit(Progress(done, total, f"Processing patch {done}/{total}"))
                    while finishing and finishing[0].done():
                        reported += _report(finishing.popleft(), emit)
                run.update(wanted)
                check()
                wanted = _margin_wanted(tile, canvas, run, valid)
            if len(run) < tile.grid.count:
                total -= tile.grid.count - len(run)
                emit(Progress(done, total, f"Processing patch {done}/{total}"))
            check()
            filtered = canvas.filtered(_computed(tile, run))
            if not isinstance(post, ThreadPoolExecutor):
                filtered.wait()  # a CUDA event does not travel to another process
            finishing.append(post.submit(_tile_nuclei, tile, filtered, valid, plan, slide, spec))
        while finishing:
            check()
            reported += _report(finishing.popleft(), emit)
    summary = Summary(plan, reported, done, time.perf_counter() - started, plan.resolution.notes)
    emit(summary)
    return summary


def postprocess_pool(processes: int) -> ProcessPoolExecutor:
    """Worker processes for post-processing, in place of threads (what remains of
    it under the GIL: Python per component and per nucleus). Started (forkserver)
    and warmed once. Its workers die with the service (then the forkserver ends too)."""
    pool = ProcessPoolExecutor(
        processes,
        mp_context=get_context("forkserver"),
        initializer=die_with,
        initargs=(os.getpid(),),
    )
    for future in [pool.submit(_warm) for _ in range(processes)]:
        future.result()
    return pool


def _warm() -> None:
    instance_labels(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.float32))


def _report(future: Future[list[Nucleus]], emit: Callable[[Event], None]) -> int:
    nuclei = future.result()
    if nuclei:
        emit(NucleiFound(nuclei))
    return len(nuclei)


def _chunks(positions: list[tuple[int, int]], batch_size: int) -> Iterator[list[tuple[int, int]]]:
    return (positions[start : start + batch_size] for start in range(0, len(positions), batch_size))


def _batches(
    tile: Tile,
    rgb: np.ndarray,
    positions: list[tuple[int, int]],
    batch_size: int,
    check: Callable[[], None],
) -> Iterator[np.ndarray]:
    """The patches at `positions` (row, column in the tile's grid), `batch_size`
    at a time."""
    grid = tile.grid
    for chunk in _chunks(positions, batch_size):
        check()
        batch = np.empty((len(chunk), grid.input, grid.input, 3), np.uint8)
        for i, (row, column) in enumerate(chunk):
            y, x = row * grid.output, column * grid.output
            batch[i] = rgb[y : y + grid.input, x : x + grid.input]
        yield batch


# Model px around a patch of the margin within which a nucleus of the core makes
# it wanted: the 21-tap Sobel's reach (10), the watershed's 3 x 3 blur (1) and
# the markers' 5 x 5 opening (2 + 2), and one to spare. A nucleus of the core is
# then whole, and labelled from the same maps as with the whole margin run.
_MARGIN_GUARD = 16


def _margin_wanted(
    tile: Tile, canvas: Canvas, run: set[tuple[int, int]], valid: np.ndarray
) -> list[tuple[int, int]]:
    """The margin's patches not yet run that a nucleus reaching into the core
    comes within `_MARGIN_GUARD` px of (row-major).

    "Reaching into the core": a 4-connected component of the nuclear mask (the
    watershed's own) whose bounding box meets the core, so every nucleus that
    could be reported from this tile, and whatever touches it, is in one."""
    missing = [p for p in tile.grid.positions() if p not in run]
    if not missing:
        return []
    nuclear = canvas.nuclear_mask() & valid.astype(np.uint8)
    _, components, stats, _ = cv2.connectedComponentsWithStats(
        nuclear, connectivity=4, ltype=cv2.CV_32S
    )
    origin, core = tile.grid.canvas, tile.core
    x0, y0 = core.x0 - origin.x0 - 1, core.y0 - origin.y0 - 1
    x1, y1 = core.x1 - origin.x0 + 1, core.y1 - origin.y0 + 1
    left, top = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    right = left + stats[:, cv2.CC_STAT_WIDTH]
    bottom = top + stats[:, cv2.CC_STAT_HEIGHT]
    reaching = (right > x0) & (left < x1) & (bottom > y0) & (top < y1)
    reaching[0] = False  # background
    if not reaching.any():
        return []
    near = reaching[components]
    o, g = tile.grid.output, _MARGIN_GUARD
    return [
        (r, c)
        for r, c in missing
        if near[max(r * o - g, 0) : (r + 1) * o + g, max(c * o - g, 0) : (c + 1) * o + g].any()
    ]


def _computed(tile: Tile, run: set[tuple[int, int]]) -> np.ndarray | None:
    """Where the canvas holds maps (H x W bool); None when every patch ran."""
    if len(run) == tile.grid.count:
        return None
    o = tile.grid.output
    computed = np.zeros((tile.grid.rows * o, tile.grid.columns * o), bool)
    for r, c in run:
        computed[r * o : (r + 1) * o, c * o : (c + 1) * o] = True
    return computed


@dataclass
class Canvas:
    """The stitched maps of one tile, 4 x H x W float32 (nuclear probability,
    horizontal, vertical, type) on the maps' device, made at the first batch."""

    shape: tuple[int, int]
    maps: torch.Tensor | None = None

    @classmethod
    def for_tile(cls, tile: Tile) -> Canvas:
        return cls((tile.grid.rows * tile.grid.output, tile.grid.columns * tile.grid.output))

    def place(self, tile: Tile, positions: list[tuple[int, int]], maps: Maps) -> None:
        import torch

        if self.maps is None:
            self.maps = torch.zeros(
                (4, *self.shape), dtype=torch.float32, device=maps.packed.device
            )
        # On the CPU through numpy: torch's strided CPU copies are ~50x slower here.
        canvas, patches = self.maps, maps.packed
        if canvas.device.type == "cpu":
            canvas, patches = canvas.numpy(), patches.numpy()
        o = tile.grid.output
        for i, (row, column) in enumerate(positions):
            canvas[:, row * o : (row + 1) * o, column * o : (column + 1) * o] = patches[i]

    def nuclear_mask(self) -> np.ndarray:
        """H x W uint8 on the host: the nuclear threshold (waits for the device)."""
        import torch

        from .edges import NUCLEAR_THRESHOLD

        with torch.inference_mode():
            return (self.maps[0] >= NUCLEAR_THRESHOLD).to(torch.uint8).cpu().numpy()

    def filtered(self, computed: np.ndarray | None = None) -> FilteredTile:
        """The dense half of post-processing where the maps are, then its results
        (and the types, as uint8) copied to the host without waiting. `computed`:
        where the maps are, when part of the margin was not run."""
        import torch

        from .edges import copy_to_pinned, hv_edges

        where = None
        if computed is not None:
            where = torch.from_numpy(computed).to(self.maps.device)
        edges = hv_edges(self.maps[0], self.maps[1:3], where)
        with torch.inference_mode():
            types = self.maps[3].round().to(torch.uint8)
        if self.maps.device.type == "cpu":
            return FilteredTile(edges.nuclear.numpy(), edges.edges.numpy(), types.numpy())
        on_host = edges.to_host(non_blocking=True)
        types = copy_to_pinned(types, non_blocking=True)
        ready = torch.cuda.Event()
        ready.record()
        return FilteredTile(on_host.nuclear.numpy(), on_host.edges.numpy(), types.numpy(), ready)


@dataclass
class FilteredTile:
    """What the CPU half needs of one tile: nuclear mask, edge map, types (host
    arrays), and on CUDA the event after which their copies have landed."""

    nuclear: np.ndarray
    edges: np.ndarray
    types: np.ndarray
    ready: object | None = None

    def wait(self) -> FilteredTile:
        if self.ready is not None:
            self.ready.synchronize()
            self.ready = None
        return self


def _tile_nuclei(
    tile: Tile,
    maps: FilteredTile,
    valid: np.ndarray,
    plan: RegionPlan,
    slide: SlideFacts,
    spec: ModelSpec,
) -> list[Nucleus]:
    """Instances of a filtered tile whose centroid lies in its core, in level-0 terms."""
    maps.wait()
    nuclear = np.where(valid, maps.nuclear, 0).astype(np.uint8)  # nothing grows out of padding
    labels = instance_labels(nuclear, maps.edges)
    origin = tile.grid.canvas
    scale = plan.resolution.scale
    names = spec.type_names
    nuclei = []
    for found in measure(labels, maps.types if spec.num_types else None):
        cx, cy = found.centroid
        # Continuous model coordinates put a pixel's centre at index + 0.5.
        if not tile.core.contains(
            np.float64(origin.x0 + cx + 0.5), np.float64(origin.y0 + cy + 0.5)
        ):
            continue
        contour = model_to_level0(found.contour + np.array([origin.x0, origin.y0]), scale)
        area_px = shoelace_area(contour)
        mpp = slide.mpp or 0.0
        nuclei.append(
            Nucleus(
                x=float(model_to_level0(origin.x0 + cx, scale)),
                y=float(model_to_level0(origin.y0 + cy, scale)),
                cell_type=found.cell_type,
                cell_type_name=names[found.cell_type]
                if found.cell_type < len(names)
                else str(found.cell_type),
                probability=min(max(found.probability, 0.0), 1.0),
                contour=contour,
                area_px=area_px,
                area_um2=area_px * mpp * mpp,
                perimeter_um=perimeter(contour) * mpp,
            )
        )
    return nuclei
