"""Step outputs are written under a temporary name and renamed when complete, so a
file with its final name is always whole: that is what makes steps skippable."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """The temporary name `path` is written under."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


@contextlib.contextmanager
def new_array(path: Path, shape: tuple[int, ...], dtype: np.dtype | type) -> Iterator[np.memmap]:
    """A .npy memory map to fill frame by frame; renamed to `path` only when the block
    ends without an exception (a leftover partial file is overwritten next time)."""
    tmp = partial_path(path)
    array = open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
    try:
        yield array
        array.flush()
    except BaseException:
        del array
        tmp.unlink(missing_ok=True)
        raise
    del array
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
