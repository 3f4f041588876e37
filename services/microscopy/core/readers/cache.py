"""Open readers kept for reuse, so repeated frame reads skip reopening and reparsing."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import FILE_NOT_FOUND, NotFound

from ..metadata import MicroscopyMetadata
from .base import MicroscopyReader
from .factory import open_reader

# A file is the same file while its path, modification time and size are.
_Key = tuple[str, int, int]


@dataclass(eq=False)
class _Entry:
    reader: MicroscopyReader
    leases: int = 0
    retired: bool = False


class ReaderCache:
    """A small LRU of open readers keyed by (path, mtime, size); thread-safe.

    A reader serialises its own reads, so a file read by several threads at once
    gets up to `readers_per_file` readers: another is opened only when every open
    one is busy, and each call takes the least busy. `max_readers` bounds the
    number of files kept open (each with its readers).

    A file that changes on disk gets fresh readers; the stale ones close once no
    thread is using them. Readers evicted while in use also close on release.
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
        self._max = max_readers
        self._per_file = readers_per_file
        self._opener = opener
        self._entries: OrderedDict[_Key, list[_Entry]] = OrderedDict()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def reader(self, path: str | os.PathLike[str]) -> Iterator[MicroscopyReader]:
        """An open reader for `path`, held for the duration of the `with` block.

        Raises what `open_reader` raises (NotFound, InvalidArgument).
        """
        entry = self._acquire(path)
        try:
            yield entry.reader
        finally:
            self._release(entry)

    def metadata(self, path: str | os.PathLike[str]) -> MicroscopyMetadata:
        """Metadata of `path` (see `MicroscopyReader.metadata`)."""
        entry = self._acquire(path)
        try:
            return entry.reader.metadata
        finally:
            self._release(entry)

    def read_frame(
        self, path: str | os.PathLike[str], fov: int, t: int, c: int, z: int = 0
    ) -> np.ndarray:
        """One frame of `path` (see `MicroscopyReader.read_frame`)."""
        entry = self._acquire(path)
        try:
            return entry.reader.read_frame(fov, t, c, z)
        finally:
            self._release(entry)

    def clear(self) -> None:
        """Forget every reader; each closes as soon as no thread uses it."""
        with self._lock:
            entries = [entry for group in self._entries.values() for entry in group]
            self._entries.clear()
        for entry in entries:
            self._retire(entry)

    close = clear

    def __enter__(self) -> ReaderCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        """Open readers (of every file)."""
        with self._lock:
            return sum(len(group) for group in self._entries.values())

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

    def _acquire(self, path: str | os.PathLike[str]) -> _Entry:
        key = self._key(os.fspath(path))
        with self._lock:
            group = self._entries.get(key)
            if group is not None:
                self._entries.move_to_end(key)
                entry = self._choose(group)
                if entry is not None:
                    entry.leases += 1
                    return entry
        # Open outside the cache lock: parsing a large file must not stall other files.
        fresh = _Entry(self._opener(Path(path)), leases=1)
        stale: list[_Entry] = []
        with self._lock:
            group = self._entries.get(key)
            if group is None:
                for other_key in [k for k in self._entries if k[0] == key[0]]:
                    stale += self._entries.pop(other_key)  # the file changed on disk
                self._entries[key] = group = []
                while len(self._entries) > self._max:
                    stale += self._entries.popitem(last=False)[1]
            entry = self._choose(group)  # other threads may have opened readers meanwhile
            if entry is None:
                group.append(fresh)
                entry = fresh
            else:
                entry.leases += 1
        if entry is not fresh:
            fresh.reader.close()
        for old in stale:
            self._retire(old)
        return entry

    def _choose(self, group: list[_Entry]) -> _Entry | None:
        """The reader of a file to lease (called under the lock): an idle one, else the
        least busy once the file has all its readers; None means open another."""
        if not group:
            return None
        least_busy = min(group, key=lambda entry: entry.leases)
        if least_busy.leases == 0 or len(group) >= self._per_file:
            return least_busy
        return None

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.leases -= 1
            close = entry.retired and entry.leases == 0
        if close:
            entry.reader.close()

    def _retire(self, entry: _Entry) -> None:
        with self._lock:
            entry.retired = True
            close = entry.leases == 0
        if close:
            entry.reader.close()
