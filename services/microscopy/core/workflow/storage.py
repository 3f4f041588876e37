"""Step outputs are written under a temporary name and renamed when complete, so a
file with its final name is always whole: that is what makes steps skippable."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """The temporary name `path` is written under."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


class FrameWriter:
    """Appends the frames of a (T, ...) .npy one after another, in order: plain
    sequential writes into the page cache (a fresh memory map would fault every
    page in first)."""

    def __init__(self, handle, n_frames: int, dtype: np.dtype) -> None:
        self._handle = handle
        self._dtype = dtype
        self.n_frames = n_frames
        self.written = 0

    def write(self, frame: np.ndarray) -> None:
        if self.written >= self.n_frames:
            raise IndexError(f"all {self.n_frames} frames are already written")
        self._handle.write(np.ascontiguousarray(frame, dtype=self._dtype).data)
        self.written += 1


@contextlib.contextmanager
def new_frames(
    path: Path, n_frames: int, frame_shape: tuple[int, ...], dtype: np.dtype | type
) -> Iterator[FrameWriter]:
    """A (n_frames, *frame_shape) .npy written frame by frame; renamed to `path`
    only when every frame was written and the block ended without an exception."""
    dtype = np.dtype(dtype)
    tmp = partial_path(path)
    try:
        with open(tmp, "wb") as handle:
            header = {
                "descr": np.lib.format.dtype_to_descr(dtype),
                "fortran_order": False,
                "shape": (n_frames, *frame_shape),
            }
            np.lib.format.write_array_header_1_0(handle, header)
            writer = FrameWriter(handle, n_frames, dtype)
            yield writer
        if writer.written != n_frames:
            raise RuntimeError(f"{path.name}: {writer.written} of {n_frames} frames written")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def open_array(path: Path) -> np.memmap:
    """A finished .npy, memory-mapped read-only (frames are read on demand)."""
    return np.load(path, mmap_mode="r")


@contextlib.contextmanager
def new_file(path: Path) -> Iterator[Path]:
    """A temporary path to write; renamed to `path` when the block succeeds."""
    tmp = partial_path(path)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
