"""Frames in, Cellpose's instance labels out, the tiles of all frames batched together.

Per frame, Cellpose's own steps in Cellpose's own order (`CellposeModel.eval`
for one 2-D image): channels last, percentile normalisation, resize by
30 / diameter, padding, overlapping 256 px tiles. The tiles of every frame of
the request go through the network in shared batches of `batch_size` (Cellpose's
loop runs one frame's tiles at a time). When a frame's last tile is back, its
maps are averaged with Cellpose's tapered weights, resized back, and turned
into masks by Cellpose's flow dynamics, on a post-processing thread while the
device runs the next frames' tiles. Labels are reported frame by frame, in order.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from common.cellpose import CellposeOptions
from common.errors import Cancelled, InvalidArgument

from ..segmentation import Progress
from .predictor import TILE, FlowPredictor

TILE_OVERLAP = 0.1  # Cellpose's default
MAX_SIZE_FRACTION = 0.4  # Cellpose's default: a mask over 40% of the frame is dropped
FRAME_DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
# Cellpose's normalisation with its defaults (models.normalize_default, per frame).
NORMALIZE = {
    "normalize": True,
    "norm3D": False,
    "invert": False,
    "lowhigh": None,
    "percentile": None,
    "sharpen_radius": 0,
    "smooth_radius": 0,
    "tile_norm_blocksize": 0,
    "tile_norm_smooth3D": 1,
}


@dataclass(frozen=True)
class FramesConfig:
    """How a request runs: tiles per forward pass, post-processing threads, limits."""

    batch_size: int = 8
    postprocess_workers: int = 1
    max_frame_pixels: int = 16384 * 16384  # after rescaling by 30 / diameter
    max_frames: int = 256


@dataclass(frozen=True)
class FrameLabels:
    """One finished frame: instance labels (0 background, 1..count cells)."""

    index: int
    labels: np.ndarray
    count: int


@dataclass(frozen=True)
class FramesSummary:
    frames: int
    tiles: int
    cells: int
    duration_s: float
    device: str


FramesEvent = Progress | FrameLabels | FramesSummary


def _tile_grid(height: int, width: int, rescale: float) -> tuple[int, int]:
    """Tiles along y and x of one frame, as Cellpose's `run_net` cuts it."""
    from cellpose import transforms

    lyr, lxr = (int(height * rescale), int(width * rescale)) if rescale != 1.0 else (height, width)
    y1, y2, x1, x2 = transforms.get_pad_yx(lyr, lxr, min_size=(TILE, TILE))
    ly, lx = lyr + y1 + y2, lxr + x1 + x2
    ny = 1 if ly <= TILE else int(np.ceil((1.0 + 2 * TILE_OVERLAP) * ly / TILE))
    nx = 1 if lx <= TILE else int(np.ceil((1.0 + 2 * TILE_OVERLAP) * lx / TILE))
    return ny, nx


def check_frames(
    shapes: Sequence[tuple[int, int]], options: CellposeOptions, config: FramesConfig
) -> int:
    """Every check before any work; returns the number of tiles. Raises InvalidArgument."""
    if not shapes:
        raise InvalidArgument("no frames to segment", field="frames")
    if len(shapes) > config.max_frames:
        raise InvalidArgument(
            f"{len(shapes)} frames in one request; at most {config.max_frames}", field="frames"
        )
    tiles = 0
    for index, (height, width) in enumerate(shapes):
        if height < 1 or width < 1:
            raise InvalidArgument(f"frame {index} is empty ({height} x {width})", field="frames")
        rescaled = math.ceil(height * options.rescale) * math.ceil(width * options.rescale)
        if rescaled > config.max_frame_pixels or min(height, width) * options.rescale < 1:
            raise InvalidArgument(
                f"frame {index} ({height} x {width}) rescaled by 30 / diameter "
                f"({options.rescale:.3g}) is {'too large' if options.rescale > 1 else 'empty'}; "
                f"choose another diameter",
                field="diameter",
            )
        ny, nx = _tile_grid(height, width, options.rescale)
        tiles += ny * nx
    return tiles


@dataclass
class _Prepared:
    """One frame cut into tiles, and what is needed to put its maps back together."""

    index: int
    shape: tuple[int, int]
    tiles: np.ndarray  # ntiles x C x 256 x 256 float32
    ysub: list
    xsub: list
    tiled_shape: tuple[int, int]
    padded_shape: tuple[int, int]
    pads: tuple[int, int, int, int]
    maps: list[np.ndarray | None]
    missing: int

    def add(self, tile: int, maps: np.ndarray) -> bool:
        """Store a tile's maps; True when it was the frame's last."""
        self.maps[tile] = maps
        self.missing -= 1
        if self.missing == 0:
            self.tiles = self.tiles[:0]  # every tile is through the network
        return self.missing == 0


def _prepare(index: int, frame: np.ndarray, rescale: float) -> _Prepared:
    """Cellpose's eval and run_net up to the network, for one 2-D frame."""
    from cellpose import transforms

    # float32 as Cellpose makes it, and a copy: normalisation works in place.
    image = frame.astype(np.float32)
    image = transforms.convert_image(image, channel_axis=None, z_axis=None)[np.newaxis]
    image = transforms.normalize_img(image, **NORMALIZE)[0]
    height, width = frame.shape
    if rescale != 1.0:
        image = transforms.resize_image(image, rsz=[rescale, rescale])
    lyr, lxr = image.shape[:2]
    y1, y2, x1, x2 = transforms.get_pad_yx(lyr, lxr, min_size=(TILE, TILE))
    padded = np.pad(image.transpose(2, 0, 1), [[0, 0], [y1, y2], [x1, x2]], mode="constant")
    tiles, ysub, xsub, lyt, lxt = transforms.make_tiles(
        padded, bsize=TILE, augment=False, tile_overlap=TILE_OVERLAP
    )
    tiles = tiles.reshape(-1, padded.shape[0], TILE, TILE)
    return _Prepared(
        index=index,
        shape=(height, width),
        tiles=tiles,
        ysub=ysub,
        xsub=xsub,
        tiled_shape=(lyt, lxt),
        padded_shape=padded.shape[1:],
        pads=(y1, y2, x1, x2),
        maps=[None] * len(tiles),
        missing=len(tiles),
    )


def _masks(frame: _Prepared, options: CellposeOptions, device: str) -> np.ndarray:
    """Cellpose's run_net after the network, then its mask reconstruction."""
    import fastremap
    import torch
    from cellpose import dynamics, transforms

    maps = np.stack(frame.maps)
    frame.maps = []  # the tiles' maps are not needed any more
    averaged = transforms.average_tiles(maps, frame.ysub, frame.xsub, *frame.tiled_shape)
    ly, lx = frame.padded_shape
    y1, y2, x1, x2 = frame.pads
    averaged = averaged[:, :ly, :lx][:, y1 : ly - y2, x1 : lx - x2].transpose(1, 2, 0)
    rescale = options.rescale
    if rescale != 1.0:
        averaged = transforms.resize_image(averaged, *frame.shape)
    cellprob = averaged[..., -1]
    flows = averaged[..., -3:-1].transpose(2, 0, 1)
    labels = dynamics.resize_and_compute_masks(
        flows,
        cellprob,
        niter=int(200 / rescale),
        cellprob_threshold=options.cellprob_threshold,
        flow_threshold=options.flow_threshold,
        min_size=options.min_size,
        max_size_fraction=MAX_SIZE_FRACTION,
        resize=None,
        device=torch.device(device),
    )
    labels, _ = fastremap.renumber(np.ascontiguousarray(labels), in_place=True)
    return labels


def segment_frames(
    frames: Sequence[np.ndarray],
    options: CellposeOptions,
    predictor: FlowPredictor,
    config: FramesConfig,
    emit: Callable[[FramesEvent], None],
    cancelled: threading.Event | None = None,
) -> FramesSummary:
    """Cellpose on `frames` (2-D arrays), reporting through `emit`: progress in tiles,
    each frame's labels in order, then the summary. Raises Cancelled when `cancelled`
    is set (checked before every batch)."""
    cancelled = cancelled or threading.Event()
    started = time.perf_counter()
    total = check_frames([f.shape for f in frames], options, config)
    emit(Progress(0, total, f"Segmenting {len(frames)} frame(s), {total} tiles"))
    pending: deque[tuple[_Prepared, Future[np.ndarray]]] = deque()
    batches: deque[list[tuple[_Prepared, int]]] = deque()
    cells = 0
    done = 0

    def tiles() -> Iterator[tuple[_Prepared, int]]:
        for index, frame in enumerate(frames):
            prepared = _prepare(index, frame, options.rescale)
            for tile in range(len(prepared.tiles)):
                yield prepared, tile

    def batched() -> Iterator[np.ndarray]:
        members: list[tuple[_Prepared, int]] = []
        for member in tiles():
            members.append(member)
            if len(members) == config.batch_size:
                yield take(members)
                members = []
        if members:
            yield take(members)

    def take(members: list[tuple[_Prepared, int]]) -> np.ndarray:
        if cancelled.is_set():
            raise Cancelled(f"segmentation cancelled after {done} of {total} tiles")
        batches.append(members)
        return np.stack([frame.tiles[tile] for frame, tile in members])

    def report_finished(wait: bool) -> None:
        nonlocal cells
        while pending and (wait or pending[0][1].done()):
            frame, future = pending.popleft()
            labels = future.result()
            count = int(labels.max()) if labels.size else 0
            cells += count
            emit(FrameLabels(frame.index, labels, count))

    with ThreadPoolExecutor(max(1, config.postprocess_workers), "cellpose-masks") as pool:
        try:
            for maps in predictor.predict(batched()):
                members = batches.popleft()
                for (frame, tile), tile_maps in zip(members, maps, strict=True):
                    if frame.add(tile, tile_maps):
                        pending.append(
                            (frame, pool.submit(_masks, frame, options, predictor.device))
                        )
                done += len(members)
                emit(Progress(done, total, f"{done}/{total} tiles"))
                report_finished(wait=False)
            report_finished(wait=True)
        finally:
            for _, future in pending:
                future.cancel()
    summary = FramesSummary(
        len(frames), total, cells, time.perf_counter() - started, predictor.device
    )
    emit(summary)
    return summary
