"""Browsing the data roots: file facts, folder listings, glob search, file info.

Every result type maps 1:1 to its proto message. Nothing outside the roots is
ever listed: symlinks that point out of them are skipped, symlinked folders are
not descended into during search (which also rules out symlink loops).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from wcmatch import glob

from common.errors import InvalidArgument, PermissionDenied, ServiceError

from .extensions import file_extension, is_microscopy_name, matches_extensions, normalise_extensions
from .metadata import MicroscopyMetadata
from .paths import DataRoots
from .readers import ReaderCache, open_reader

SortKey = Literal["name", "size", "modified_time"]
SortOrder = Literal["asc", "desc"]
SORT_KEYS: tuple[str, ...] = ("name", "size", "modified_time")
SORT_ORDERS: tuple[str, ...] = ("asc", "desc")
DEFAULT_SEARCH_PATTERN = "**/*"
DEFAULT_SEARCH_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file or folder; fields map 1:1 to the proto's FileEntry."""

    name: str
    path: str
    is_directory: bool
    is_file: bool
    size_bytes: int | None  # None for folders
    modified_time: datetime  # aware, UTC
    extension: str | None  # lower-case with its dot, ".ome.tif" whole; None for folders
    is_microscopy_file: bool


@dataclass(frozen=True, slots=True)
class DirectoryListing:
    """One folder's entries (ListDirectoryResponse)."""

    directory_path: str
    items: tuple[FileEntry, ...]
    total_items: int  # before the extension filter
    filtered_items: int  # after it


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Files matching a search (SearchFilesResponse)."""

    search_path: str
    files: tuple[FileEntry, ...]  # sorted by path
    total_found: int
    search_time_s: float
    truncated: bool  # True when `limit` cut the search short


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file's facts and metadata preview (GetFileInfoResponse)."""

    file_info: FileEntry
    is_microscopy_file: bool
    metadata_preview: MicroscopyMetadata | None
    metadata_error: str  # why a microscopy file's metadata could not be read; "" if it could


def _entry(path: Path, st: os.stat_result) -> FileEntry:
    is_directory = stat.S_ISDIR(st.st_mode)
    is_file = stat.S_ISREG(st.st_mode)
    return FileEntry(
        name=path.name,
        path=str(path),
        is_directory=is_directory,
        is_file=is_file,
        size_bytes=None if is_directory else st.st_size,
        modified_time=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        extension=None if is_directory else file_extension(path.name),
        is_microscopy_file=is_file and is_microscopy_name(path.name),
    )


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


class FileExplorer:
    """File facts, listings and search, confined to `roots`.

    `readers` (optional) lends cached readers to `file_info`; without it each call
    opens and closes the file.
    """

    def __init__(self, roots: DataRoots, readers: ReaderCache | None = None) -> None:
        self._roots = roots
        self._readers = readers

    @property
    def roots(self) -> DataRoots:
        return self._roots

    # ------------------------------------------------------------------ one path

    def file_entry(self, path: str | os.PathLike[str]) -> FileEntry:
        """Facts of one file or folder. Raises what `DataRoots.resolve` raises."""
        real = self._roots.resolve(path)
        return _entry(real, real.stat())

    def file_info(self, path: str | os.PathLike[str]) -> FileInfo:
        """`file_entry` plus, for a microscopy file, its metadata or why it is unreadable."""
        entry = self.file_entry(path)
        if not entry.is_microscopy_file:
            return FileInfo(entry, False, None, "")
        try:
            if self._readers is not None:
                metadata = self._readers.metadata(entry.path)
            else:
                with open_reader(entry.path) as reader:
                    metadata = reader.metadata
        except ServiceError as exc:
            return FileInfo(entry, True, None, exc.message)
        return FileInfo(entry, True, metadata, "")

    # ------------------------------------------------------------------ listing

    def _visible_entry(self, path: Path, include_hidden: bool) -> FileEntry | None:
        """The entry for `path` if it may be shown: not hidden (unless asked), a file or
        folder, and, for a symlink, pointing inside the roots and not dangling."""
        if _is_hidden(path.name) and not include_hidden:
            return None
        if path.is_symlink() and not self._roots.contains(path):
            return None
        try:
            st = path.stat()
        except OSError:  # dangling symlink, vanished meanwhile, no permission
            return None
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            return None
        return _entry(path, st)

    def list_directory(
        self,
        directory_path: str | os.PathLike[str],
        include_hidden: bool = False,
        filter_extensions: Iterable[str] | None = None,
        sort_by: SortKey | None = "name",
        sort_order: SortOrder | None = "asc",
    ) -> DirectoryListing:
        """The entries of one folder, folders kept whatever `filter_extensions` says.

        Names sort case-insensitively; folders count as size 0. Raises
        InvalidArgument for a bad sort key or order or a path that is not a folder,
        and what `DataRoots.resolve` raises.
        """
        sort_by, sort_order = sort_by or "name", sort_order or "asc"
        if sort_by not in SORT_KEYS:
            raise InvalidArgument(f"sort_by must be one of {SORT_KEYS}, got {sort_by!r}")
        if sort_order not in SORT_ORDERS:
            raise InvalidArgument(f"sort_order must be one of {SORT_ORDERS}, got {sort_order!r}")
        extensions = normalise_extensions(filter_extensions)
        folder = self._folder(directory_path)
        try:
            names = os.listdir(folder)
        except PermissionError:
            raise PermissionDenied(f"cannot read folder {directory_path}") from None
        entries = [
            entry
            for name in names
            if (entry := self._visible_entry(folder / name, include_hidden)) is not None
        ]
        kept = [e for e in entries if e.is_directory or matches_extensions(e.name, extensions)]
        kept.sort(key=lambda e: e.name)  # stable tie-break for equal keys
        if sort_by == "name":
            kept.sort(key=lambda e: e.name.casefold(), reverse=sort_order == "desc")
        elif sort_by == "size":
            kept.sort(key=lambda e: e.size_bytes or 0, reverse=sort_order == "desc")
        else:
            kept.sort(key=lambda e: e.modified_time, reverse=sort_order == "desc")
        return DirectoryListing(str(folder), tuple(kept), len(entries), len(kept))

    def _folder(self, path: str | os.PathLike[str]) -> Path:
        folder = self._roots.resolve(path)
        if not folder.is_dir():
            raise InvalidArgument(f"{path} is not a folder", path=str(path))
        return folder

    # ------------------------------------------------------------------ search

    def search_files(
        self,
        search_path: str | os.PathLike[str],
        pattern: str | None = DEFAULT_SEARCH_PATTERN,
        extensions: Iterable[str] | None = None,
        max_depth: int | None = None,
        include_hidden: bool = False,
        case_sensitive: bool = False,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> SearchResult:
        """Files under `search_path` whose relative path matches the glob `pattern`.

        `**` matches any number of folders, `{a,b}` alternatives; a pattern
        without a slash ("*.nd2") matches file names at any depth, as `find
        -name` does, while one with a slash ("exp/*.nd2") matches whole paths. `max_depth` 0
        searches `search_path` itself only; None is unlimited. `limit` 0 means the
        default (10000). Hidden files and folders are skipped unless
        `include_hidden`. Raises InvalidArgument for an absolute pattern, one with
        "..", a negative depth or limit, or a search path that is not a folder.
        """
        started = time.perf_counter()
        matcher = self._compile(pattern, include_hidden, case_sensitive)
        if max_depth is not None and max_depth < 0:
            raise InvalidArgument(f"max_depth must be >= 0, got {max_depth}")
        if limit < 0:
            raise InvalidArgument(f"limit must be >= 0, got {limit}")
        limit = limit or DEFAULT_SEARCH_LIMIT
        wanted = normalise_extensions(extensions)
        root = self._folder(search_path)

        found: list[FileEntry] = []
        truncated = False
        for folder, dirnames, filenames in os.walk(root):  # never follows symlinked folders
            relative = Path(folder).relative_to(root)
            depth = len(relative.parts)
            dirnames[:] = sorted(d for d in dirnames if include_hidden or not _is_hidden(d))
            if max_depth is not None and depth >= max_depth:
                dirnames[:] = []
            for name in sorted(filenames):
                if not matcher.match((PurePosixPath(relative.as_posix()) / name).as_posix()):
                    continue
                if not matches_extensions(name, wanted):
                    continue
                entry = self._visible_entry(Path(folder) / name, include_hidden)
                if entry is None or not entry.is_file:
                    continue
                if len(found) == limit:
                    truncated = True
                    break
                found.append(entry)
            if truncated:
                break
        found.sort(key=lambda e: e.path)
        elapsed = time.perf_counter() - started
        return SearchResult(str(root), tuple(found), len(found), elapsed, truncated)

    @staticmethod
    def _compile(pattern: str | None, include_hidden: bool, case_sensitive: bool) -> Any:
        pattern = (pattern or "").strip() or DEFAULT_SEARCH_PATTERN
        if "\0" in pattern:
            raise InvalidArgument("pattern contains a NUL character")
        if pattern.startswith(("/", "\\")) or os.path.isabs(pattern):
            raise InvalidArgument(f"pattern must be relative to search_path, got {pattern!r}")
        if ".." in pattern.replace("\\", "/").split("/"):
            raise InvalidArgument(f"pattern must not contain '..', got {pattern!r}")
        # MATCHBASE: a pattern with no slash is matched against the file name alone.
        flags = glob.GLOBSTAR | glob.BRACE | glob.MATCHBASE
        flags |= glob.CASE if case_sensitive else glob.IGNORECASE
        if include_hidden:
            flags |= glob.DOTGLOB
        try:
            return glob.compile(pattern, flags=flags)
        except Exception as exc:  # wcmatch's errors for malformed or explosive patterns
            raise InvalidArgument(f"invalid pattern {pattern!r}: {exc}") from exc
