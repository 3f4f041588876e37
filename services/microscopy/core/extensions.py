"""File-name extensions: which files the microscopy readers handle.

Multi-part extensions (".ome.tif") are recognised so that the explorer reports
them whole, as users name them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

from common.errors import InvalidArgument

# Longest first, so ".ome.tif" wins over ".tif".
MULTI_PART_EXTENSIONS: tuple[str, ...] = (".ome.tiff", ".ome.tif")

MICROSCOPY_EXTENSIONS: frozenset[str] = frozenset(
    {".nd2", ".czi", ".tif", ".tiff", ".ome.tif", ".ome.tiff"}
)


def file_extension(name: str | PurePath) -> str | None:
    """Lower-case extension of a file name with its dot, or None when it has none.

    >>> file_extension("Cells.OME.TIF")
    '.ome.tif'
    >>> file_extension("run.nd2")
    '.nd2'
    """
    lowered = PurePath(name).name.lower()
    for multi in MULTI_PART_EXTENSIONS:
        if lowered.endswith(multi) and len(lowered) > len(multi):
            return multi
    suffix = PurePath(lowered).suffix
    return suffix or None


def is_microscopy_name(name: str | PurePath) -> bool:
    """True when a reader handles files of this name (judged by extension only)."""
    return file_extension(name) in MICROSCOPY_EXTENSIONS


def normalise_extensions(extensions: Iterable[str] | None) -> tuple[str, ...]:
    """Lower-case, dot-prefixed extensions; blanks dropped.

    Raises InvalidArgument for an entry that contains a path separator.
    """
    result: list[str] = []
    for raw in extensions or ():
        ext = raw.strip().lower()
        if not ext:
            continue
        if "/" in ext or "\\" in ext:
            raise InvalidArgument(f"invalid extension {raw!r}", extension=raw)
        result.append(ext if ext.startswith(".") else f".{ext}")
    return tuple(dict.fromkeys(result))


def matches_extensions(name: str | PurePath, extensions: tuple[str, ...]) -> bool:
    """True when `name` ends with one of the normalised `extensions` (all match when empty).

    Matching is by name ending, so ".tif" also keeps "a.ome.tif".
    """
    if not extensions:
        return True
    lowered = PurePath(name).name.lower()
    return any(lowered.endswith(ext) for ext in extensions)
