"""Open readers kept for reuse, so repeated frame reads skip reopening and reparsing."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from common.errors import FILE_NOT_FOUND, NotFound
from common.leased_lru import LeasedLRU

from ..metadata import MicroscopyMetadata
from .base import MicroscopyReader
from .factory import open_reader

# A file is the same file while its path, modification time and size are.
_Key = tuple[str, int, int]


class ReaderCache:
    """A small LRU of open readers keyed by (path, mtime, size); thread-safe.

    A reader serialises its own reads, so a file read by several threads at once
    gets up to `readers_per_file` readers: another is opened only when every open
    one is busy, and each call takes the least busy. `max_readers` bounds the
    number of files kept open (each with its readers).

    A file that changes on disk gets fresh readers; the stale ones close once no
    thread is using them. Readers evicted while in use also close on release
    (the leasing is common.leased_lru's, shared with the slides handle cache).
    Paths are taken as given: confine user paths with `DataRoots` first.
    """

    def __init__(
        self,
        max_readers: int = 16,
        opener: Callable[[Path], MicroscopyReader] = open_reader,
        readers_per_file: int = 1,
    ) -> None:
        if max_readers < 1:
            raise ValueError("max_readers must be at least 1")
        if readers_per_file < 1:
            raise ValueError("readers_per_file must be at least 1")
        self._readers: LeasedLRU[_Key, MicroscopyReader] = LeasedLRU(
            lambda key: opener(Path(key[0])),
            lambda reader: reader.close(),
            capacity=max_readers,
            per_key=readers_per_file,
        )
        # The version of each path last leased, to notice a file changed on disk.
        self._versions: dict[str, _Key] = {}

    def reader(self, path: str | os.PathLike[str]) -> AbstractContextManager[MicroscopyReader]:
        """An open reader for `path`, held for the duration of the `with` block.

        Raises what `open_reader` raises (NotFound, InvalidArgument).
        """
        key = self._key(os.fspath(path))
        if self._versions.get(key[0]) != key:
            # The file changed on disk (or is new): readers of an earlier version
            # close once their reads end.
            self._readers.discard_where(lambda other: other[0] == key[0] and other != key)
            if len(self._versions) >= 4 * self._readers.capacity:
                self._versions.clear()  # only a hint: forgetting costs one more check
            self._versions[key[0]] = key
        return self._readers.lease(key)

    def metadata(self, path: str | os.PathLike[str]) -> MicroscopyMetadata:
        """Metadata of `path` (see `MicroscopyReader.metadata`)."""
        with self.reader(path) as reader:
            return reader.metadata

    def read_frame(
        self, path: str | os.PathLike[str], fov: int, t: int, c: int, z: int = 0
    ) -> np.ndarray:
        """One frame of `path` (see `MicroscopyReader.read_frame`)."""
        with self.reader(path) as reader:
            return reader.read_frame(fov, t, c, z)

    def clear(self) -> None:
        """Forget every reader; each closes as soon as no thread uses it."""
        self._readers.clear()
        self._versions.clear()

    close = clear

    def __enter__(self) -> ReaderCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        """Open readers (of every file)."""
        return len(self._readers)

    @staticmethod
    def _key(path: str) -> _Key:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise NotFound(f"file not found: {path}", code=FILE_NOT_FOUND, path=str(path)) from None
        except OSError:
            # Let the reader report folders, permissions and the like.
            return (path, -1, -1)
        return (path, st.st_mtime_ns, st.st_size)
