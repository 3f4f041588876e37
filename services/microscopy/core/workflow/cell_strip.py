"""One cell over time (crops that follow it, its outline drawn, side by side), and
the FOV's frame with every cell outlined, to pick a cell by clicking it.

Made from what the workflow left in the FOV's folder, not from the microscopy
file: the copied frames (`<stem>_raw_ch_<c>.npy`) and the tracking labels
(`<stem>_labels.npy`, 0 = background, else cell + 1), both memory-mapped, so
only the crops are read.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.segmentation import find_boundaries

from common.errors import FailedPrecondition, InvalidArgument
from services.microscopy.core.render import (
    DEFAULT_HIGH_PERCENTILE,
    DEFAULT_LOW_PERCENTILE,
    RenderedFrame,
    contrast_limits,
    stretch_to_uint8,
)

from .cells import cell_trace
from .overlay import render_overlay

_OUTLINE = (255, 225, 25)
_LABEL_HEIGHT = 16


def _stem(traces_path: Path) -> str:
    name = traces_path.name
    if not name.endswith("_traces.csv"):
        raise InvalidArgument(
            f"{name} is not a workflow's per-FOV trace CSV (<name>_fov_NNN_traces.csv)",
            field="traces_path",
        )
    return name[: -len("_traces.csv")]


def render_cell_strip(
    traces_path: Path,
    fov: int,
    cell: int,
    channel: int,
    n_crops: int = 8,
    crop_size: int = 96,
) -> tuple[bytes, list[int]]:
    """PNG of `n_crops` crops along the cell's track (evenly spread frames), and their frames."""
    if not 1 <= n_crops <= 32:
        raise InvalidArgument(f"n_crops must be 1 to 32, not {n_crops}", field="n_crops")
    if not 16 <= crop_size <= 512:
        raise InvalidArgument(f"crop_size must be 16 to 512, not {crop_size}", field="crop_size")
    stem = _stem(traces_path)
    raw_path = traces_path.with_name(f"{stem}_raw_ch_{channel}.npy")
    labels_path = traces_path.with_name(f"{stem}_labels.npy")
    if not raw_path.is_file():
        copied = sorted(p.name for p in traces_path.parent.glob(f"{stem}_raw_ch_*.npy"))
        raise InvalidArgument(
            f"channel {channel} was not copied by the workflow; channels here: "
            f"{', '.join(name[len(stem) + 8 : -4] for name in copied) or 'none'}",
            field="channel",
        )
    if not labels_path.is_file():
        raise FailedPrecondition(
            f"no tracking labels beside {traces_path.name}", field="traces_path"
        )
    trace = cell_trace(traces_path, fov, cell)
    raw = np.load(raw_path, mmap_mode="r")
    labels = np.load(labels_path, mmap_mode="r")
    frames_of_cell = [int(f) for f in trace.series["frame"]]
    picks = np.unique(
        np.linspace(0, len(frames_of_cell) - 1, num=min(n_crops, len(frames_of_cell)))
        .round()
        .astype(int)
    )
    frames = [frames_of_cell[i] for i in picks]
    height, width = raw.shape[1:]
    half = crop_size // 2
    tiles = []
    font = ImageFont.load_default(size=12)
    for index in picks:
        t = frames_of_cell[index]
        cx = trace.series["position_x"][index]
        cy = trace.series["position_y"][index]
        x0 = int(np.clip(round(cx) - half, 0, max(0, width - crop_size)))
        y0 = int(np.clip(round(cy) - half, 0, max(0, height - crop_size)))
        pixels = np.asarray(raw[t, y0 : y0 + crop_size, x0 : x0 + crop_size])
        mine = np.asarray(labels[t, y0 : y0 + crop_size, x0 : x0 + crop_size]) == cell + 1
        lo, hi = contrast_limits(pixels, DEFAULT_LOW_PERCENTILE, DEFAULT_HIGH_PERCENTILE)
        grey = stretch_to_uint8(pixels, lo, hi)
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        rgb[find_boundaries(mine, mode="inner")] = _OUTLINE
        tile = Image.new("RGB", (crop_size, crop_size + _LABEL_HEIGHT), (0, 0, 0))
        tile.paste(Image.fromarray(rgb), (0, 0))
        ImageDraw.Draw(tile).text(
            (crop_size / 2, crop_size + _LABEL_HEIGHT / 2),
            f"t={t}",
            fill=(230, 230, 230),
            font=font,
            anchor="mm",
        )
        tiles.append(tile)
    strip = Image.new(
        "RGB", (crop_size * len(tiles) + 2 * (len(tiles) - 1), tiles[0].height), (40, 40, 40)
    )
    for number, tile in enumerate(tiles):
        strip.paste(tile, (number * (crop_size + 2), 0))
    buffer = io.BytesIO()
    strip.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue(), frames


def _fov_files(traces_path: Path, channel: int) -> tuple[Path, Path]:
    stem = _stem(traces_path)
    raw_path = traces_path.with_name(f"{stem}_raw_ch_{channel}.npy")
    labels_path = traces_path.with_name(f"{stem}_labels.npy")
    if not labels_path.is_file():
        raise FailedPrecondition(
            f"no tracking labels beside {traces_path.name}", field="traces_path"
        )
    if not raw_path.is_file():
        raise InvalidArgument(f"channel {channel} was not copied by the workflow", field="channel")
    return raw_path, labels_path


def _frame_index(stack: np.ndarray, t: int) -> int:
    if not 0 <= t < stack.shape[0]:
        raise InvalidArgument(f"frame {t} is outside the run's {stack.shape[0]} frames", field="t")
    return t


def render_cells_frame(
    traces_path: Path, t: int, channel: int, max_size: int = 0
) -> tuple[RenderedFrame, tuple[int, int, int]]:
    """Frame `t` of the FOV with every cell's outline and id (the workflow's overlay),
    and the run's (frames, height, width): what a viewer needs to map a click."""
    raw_path, labels_path = _fov_files(traces_path, channel)
    raw = np.load(raw_path, mmap_mode="r")
    labels = np.load(labels_path, mmap_mode="r")
    t = _frame_index(labels, t)
    rendered = render_overlay(
        np.asarray(raw[t]),
        np.asarray(labels[t]),
        DEFAULT_LOW_PERCENTILE,
        DEFAULT_HIGH_PERCENTILE,
        max_size,
    )
    return rendered, tuple(int(n) for n in labels.shape)


def cell_at(traces_path: Path, t: int, x: int, y: int) -> int | None:
    """The cell whose mask holds pixel (x, y) of frame `t`; None for background."""
    labels_path = traces_path.with_name(f"{_stem(traces_path)}_labels.npy")
    if not labels_path.is_file():
        raise FailedPrecondition(
            f"no tracking labels beside {traces_path.name}", field="traces_path"
        )
    labels = np.load(labels_path, mmap_mode="r")
    t = _frame_index(labels, t)
    height, width = labels.shape[1:]
    if not (0 <= x < width and 0 <= y < height):
        raise InvalidArgument(
            f"pixel ({x}, {y}) is outside the {width} x {height} frame", field="x"
        )
    value = int(labels[t, y, x])
    return value - 1 if value else None
