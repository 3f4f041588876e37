"""Keeping every user-supplied path inside the configured data roots (used by every
service that reads user files)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from common.errors import FILE_NOT_FOUND, FORBIDDEN, InvalidArgument, NotFound, PermissionDenied

OUTSIDE_ROOTS_MESSAGE = "access denied: the path is outside the configured data roots"


class DataRoots:
    """The folders requests may touch, and the guard that keeps paths inside them.

    `resolve` follows symlinks and normalises ".." *before* deciding, so neither a
    traversal nor a symlink inside a root that points elsewhere gets out. A path
    outside every root is refused before its existence is looked at, with one
    message for all such paths, so the answer reveals nothing about the rest of
    the file system.
    """

    def __init__(self, roots: Iterable[str | os.PathLike[str]]) -> None:
        resolved: list[Path] = []
        for root in roots:
            real = Path(os.path.realpath(root))
            if not real.is_dir():
                raise ValueError(f"data root {root} is not an existing folder")
            resolved.append(real)
        if not resolved:
            raise ValueError("at least one data root is required")
        self._roots = tuple(dict.fromkeys(resolved))
        # String prefixes: this check runs on every request, and pathlib is slow.
        self._root_names = tuple(str(root) for root in self._roots)
        self._prefixes = tuple(name.rstrip(os.sep) + os.sep for name in self._root_names)

    @property
    def roots(self) -> tuple[Path, ...]:
        """The roots, resolved; relative paths are taken relative to the first."""
        return self._roots

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """True when `path`, with symlinks followed, lies inside a root. Never raises."""
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError, TypeError):
            return False
        return self._inside(real)

    def _inside(self, real: str) -> bool:
        return real in self._root_names or real.startswith(self._prefixes)

    def resolve(self, path: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
        """The real absolute path of `path`, which must lie inside a root.

        Relative paths (and "") are taken relative to the first root. Raises
        InvalidArgument for a malformed path, PermissionDenied (FORBIDDEN) for one
        outside every root, and, when `must_exist`, NotFound (FILE_NOT_FOUND) for a
        path inside a root that does not exist.
        """
        raw = os.fspath(path)
        if not isinstance(raw, str):
            raise InvalidArgument("paths must be text", path=repr(raw))
        if "\0" in raw:
            raise InvalidArgument("path contains a NUL character", path=repr(raw))
        candidate = raw if os.path.isabs(raw) else os.path.join(self._root_names[0], raw)
        real = os.path.realpath(candidate)
        if not self._inside(real):
            # One message for every outside path, existing or not; the path goes in details.
            raise PermissionDenied(OUTSIDE_ROOTS_MESSAGE, code=FORBIDDEN, path=raw)
        if must_exist and not os.path.exists(real):
            raise NotFound(f"file not found: {raw}", code=FILE_NOT_FOUND, path=raw)
        return Path(real)


def open_regular_file(path: str | os.PathLike[str]) -> BinaryIO:
    """`path` opened for binary reading; InvalidArgument unless it is a regular file.

    A named pipe, a device or a socket inside a data root would otherwise hold the
    worker thread that opens it forever (opening a FIFO for reading waits for a
    writer). O_NONBLOCK makes the open itself return at once whatever the file is,
    and the type is judged on the open descriptor (fstat), so nothing can be
    swapped in between the check and the read. Raises NotFound (FILE_NOT_FOUND),
    PermissionDenied, and InvalidArgument for a folder or any other non-regular file.
    """
    name = os.fspath(path)
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"file not found: {name}", code=FILE_NOT_FOUND, path=name) from None
    except PermissionError:
        raise PermissionDenied(f"cannot read {name}", path=name) from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise InvalidArgument(f"{name} is a folder, not a file", path=name)
        if not stat.S_ISREG(mode):
            raise InvalidArgument(
                f"{name} is not a regular file (a pipe, socket or device cannot be read)",
                path=name,
            )
        # Back to blocking reads: a regular file never waits, and libraries expect it.
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
