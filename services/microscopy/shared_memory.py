"""Frames written straight into a client's POSIX shared memory.

A client on the service's machine (a peer service, a notebook, a benchmark)
creates a segment once, names it in each ReadFrame, and finds the pixels there:
the frame is copied once, from the reader into the segment, and never crosses
a socket. The same idea as Triton Inference Server's system shared memory.

Only segments named "micrographia..." are touched, and only inside the byte
range the request names.
"""

from __future__ import annotations

import mmap
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from common.errors import InvalidArgument

# Where Linux exposes POSIX shared memory (shm_open names).
SHM_DIR = Path("/dev/shm")
_NAME = re.compile(r"^micrographia[A-Za-z0-9_.-]{0,200}$")


class SharedMemoryTargets:
    """Open mappings of client segments, reused across requests."""

    def __init__(self, capacity: int = 32, directory: Path = SHM_DIR) -> None:
        self._capacity = capacity
        self._directory = directory
        # name -> (inode, mapping); a segment re-created under the same name is remapped.
        self._mappings: OrderedDict[str, tuple[int, mmap.mmap]] = OrderedDict()
        self._lock = threading.Lock()

    def write(self, name: str, offset: int, size: int, frame: np.ndarray) -> None:
        """Copy `frame` (C-contiguous) into segment `name` at `offset`."""
        if not _NAME.fullmatch(name) or ".." in name:
            raise InvalidArgument(
                f"shared-memory segment name {name!r} must start with 'micrographia' "
                "and use only letters, digits, '_', '-' and '.'",
                field="shared_memory.name",
            )
        mapping = self._mapping(name)
        if offset < 0 or size < frame.nbytes or offset + frame.nbytes > len(mapping):
            raise InvalidArgument(
                f"the frame ({frame.nbytes} bytes) does not fit at offset {offset} of "
                f"segment {name!r} ({len(mapping)} bytes, {size} offered)",
                field="shared_memory",
            )
        target = np.ndarray(frame.shape, frame.dtype, buffer=mapping, offset=offset)
        np.copyto(target, frame)

    def _mapping(self, name: str) -> mmap.mmap:
        path = self._directory / name
        try:
            inode = path.stat().st_ino
        except FileNotFoundError:
            raise InvalidArgument(
                f"shared-memory segment {name!r} does not exist on the service's machine; "
                "clients elsewhere read the pixels from the answer",
                field="shared_memory.name",
            ) from None
        with self._lock:
            cached = self._mappings.get(name)
            if cached is not None and cached[0] == inode:
                self._mappings.move_to_end(name)
                return cached[1]
        try:
            descriptor = os.open(path, os.O_RDWR)
            try:
                mapping = mmap.mmap(descriptor, 0)
            finally:
                os.close(descriptor)
        except (OSError, ValueError) as error:  # no permission, an empty segment
            raise InvalidArgument(
                f"shared-memory segment {name!r} cannot be mapped: {error}",
                field="shared_memory.name",
            ) from None
        with self._lock:
            self._mappings[name] = (inode, mapping)
            while len(self._mappings) > self._capacity:
                # Dropped, not closed: a thread still writing keeps it alive until done.
                self._mappings.popitem(last=False)
        return mapping

    def close(self) -> None:
        with self._lock:
            self._mappings.clear()
