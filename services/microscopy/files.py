"""The microscopy files the service serves: the core's readers, explorer and
renderer behind the data-root guard. Synchronous and thread-safe: the servicer
calls it from its worker threads, never from the event loop."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from common.errors import InvalidArgument
from services.microscopy.core import (
    DataRoots,
    FileExplorer,
    MicroscopyMetadata,
    ReaderCache,
    RenderedFrame,
    render_png,
)


def data_roots(folders: Sequence[os.PathLike[str] | str]) -> DataRoots:
    """The configured roots; a missing one stops the service with a message naming the setting."""
    try:
        return DataRoots(folders)
    except ValueError as error:
        raise RuntimeError(f"MICROGRAPHIA_DATA_ROOTS: {error}") from None


def _required(path: str, field: str) -> str:
    if not path:
        raise InvalidArgument(f"{field} is required", field=field)
    return path


class MicroscopyFiles:
    """Metadata, frames and previews of files inside `roots`, with open readers cached."""

    def __init__(self, roots: DataRoots, reader_cache_size: int, readers_per_file: int = 1) -> None:
        self.roots = roots
        self.readers = ReaderCache(reader_cache_size, readers_per_file=readers_per_file)
        self.explorer = FileExplorer(roots, self.readers)

    def metadata(self, file_path: str) -> MicroscopyMetadata:
        real = self.roots.resolve(_required(file_path, "file_path"))
        return self.readers.metadata(real)

    def read_frame(self, file_path: str, fov: int, t: int, c: int, z: int) -> np.ndarray:
        """One frame as a C-contiguous (H, W) array in native byte order."""
        real = self.roots.resolve(_required(file_path, "file_path"))
        return self.readers.read_frame(real, fov, t, c, z)

    def render_frame(
        self,
        file_path: str,
        fov: int,
        t: int,
        c: int,
        z: int,
        low_percentile: float,
        high_percentile: float,
        max_size: int,
    ) -> RenderedFrame:
        frame = self.read_frame(file_path, fov, t, c, z)
        return render_png(frame, low_percentile, high_percentile, max_size)

    def close(self) -> None:
        self.readers.close()
