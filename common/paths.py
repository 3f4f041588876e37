"""Keeping every user-supplied path inside the configured data roots (used by every
service that reads user files)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

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
