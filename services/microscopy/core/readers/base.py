"""The one interface every microscopy reader implements."""

from __future__ import annotations

import abc
import contextlib
import operator
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

import numpy as np

from common.errors import FailedPrecondition, InvalidArgument, ServiceError

from ..metadata import MicroscopyMetadata


def unreadable_file(path: Path, action: str, exc: Exception) -> InvalidArgument:
    """The InvalidArgument reporting that a format library failed on `path`."""
    reason = str(exc).strip() or type(exc).__name__
    return InvalidArgument(
        f"{path.name}: {action} failed, the file is corrupt, truncated or not supported "
        f"({reason[:300]})",
        path=str(path),
        reason=type(exc).__name__,
    )


@contextlib.contextmanager
def library_errors(path: Path, action: str) -> Iterator[None]:
    """Turn any exception a format library raises into InvalidArgument naming the file.

    Vendor libraries raise whatever they like (ValueError, RuntimeError, struct.error,
    IndexError...) for corrupt or truncated files; callers only ever see our errors.
    """
    try:
        yield
    except (ServiceError, MemoryError):
        raise
    except Exception as exc:
        raise unreadable_file(path, action, exc) from exc


def check_index(axis: str, value: object, size: int) -> int:
    """`value` as an int in [0, size), else InvalidArgument naming the axis and its range."""
    if type(value) is int and 0 <= value < size:
        return value  # the common case, checked first: this runs four times per frame
    if isinstance(value, bool):
        raise InvalidArgument(f"{axis} index must be an integer, got {value!r}", axis=axis)
    try:
        index = operator.index(value)  # accepts int and numpy integers, not floats
    except TypeError:
        raise InvalidArgument(
            f"{axis} index must be an integer, got {value!r}", axis=axis
        ) from None
    if not 0 <= index < size:
        raise InvalidArgument(
            f"{axis} index {index} is out of range: valid range is 0..{size - 1}",
            axis=axis,
            value=index,
            size=size,
        )
    return index


class MicroscopyReader(abc.ABC):
    """An open microscopy file: its metadata and random access to single 2-D frames.

    A frame is addressed by (fov, t, c, z) and comes back as a C-contiguous (H, W)
    array in native byte order, owned by the caller. Reading one frame touches only
    that frame's bytes, never the whole file. RGB(A) samples are exposed as channels
    of their own, so every frame is 2-D.

    Thread safety: a reader may be shared between threads. Frame reads are
    serialised by a per-reader lock, because the format libraries keep one file
    position per handle; use several readers for parallel reads of one file.

    Readers are context managers; `close()` is idempotent.
    """

    file_type: ClassVar[str]
    _metadata: MicroscopyMetadata  # set by each reader's constructor

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._lock = threading.RLock()
        self._closed = False

    @property
    def path(self) -> Path:
        """Path the reader was opened with."""
        return self._path

    @property
    def metadata(self) -> MicroscopyMetadata:
        """The file's metadata, read once at open."""
        return self._metadata

    @property
    def closed(self) -> bool:
        """True once `close()` was called."""
        return self._closed

    def frame_shape(self, fov: int = 0) -> tuple[int, int]:
        """(height, width) of frames of `fov`; the same for every FOV except in CZI mosaics."""
        return self._frame_shape(check_index("fov", fov, self.metadata.n_fovs))

    def _frame_shape(self, fov: int) -> tuple[int, int]:
        """`frame_shape` of a validated FOV index."""
        return self.metadata.shape

    def read_frame(self, fov: int, t: int, c: int, z: int = 0) -> np.ndarray:
        """One 2-D frame. Raises InvalidArgument for an index out of range or a corrupt file,
        FailedPrecondition when the reader is closed."""
        md = self.metadata
        fov = check_index("fov", fov, md.n_fovs)
        t = check_index("t", t, md.n_frames)
        c = check_index("c", c, md.n_channels)
        z = check_index("z", z, md.n_z)
        with self._lock:
            if self._closed:
                raise FailedPrecondition(f"reader for {self._path.name} is closed")
            try:
                frame = self._read_plane(fov, t, c, z)
            except (ServiceError, MemoryError):
                raise
            except Exception as exc:
                action = f"reading frame fov={fov} t={t} c={c} z={z}"
                raise unreadable_file(self._path, action, exc) from exc
        expected = self._frame_shape(fov)
        if frame.shape != expected:
            raise InvalidArgument(
                f"{self._path.name}: frame fov={fov} t={t} c={c} z={z} has shape "
                f"{frame.shape}, expected {expected}; the file is corrupt",
                path=str(self._path),
            )
        if not frame.dtype.isnative:
            frame = frame.astype(frame.dtype.newbyteorder("="))
        return np.ascontiguousarray(frame)

    @abc.abstractmethod
    def _read_plane(self, fov: int, t: int, c: int, z: int) -> np.ndarray:
        """Read one validated plane; called under the reader lock. Must return an
        array that does not alias memory the library may free on close."""

    def close(self) -> None:
        """Release the file handle; waits for a frame read in progress."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close_handle()

    @abc.abstractmethod
    def _close_handle(self) -> None:
        """Close the library's handle."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self._path.name!r} {state}>"
