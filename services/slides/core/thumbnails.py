"""JPEG thumbnails, cached on disk beside the slides.

A slide list shows every thumbnail at once; rendering one means OpenSlide
reading a whole low-resolution level, so each (slide, size) is rendered once
and kept as `<slides_dir>/.thumbnails/<slide_id>_<max_size>.jpg`. A cache hit
reads that file and nothing else: OpenSlide is not touched.

Any size from 1 to 4096 may be asked for, so the folder is bounded: an LRU
index of its files within `max_bytes` (cachetools) deletes the least recently
used file when a new one would pass the budget. At start the index is rebuilt
from the folder, oldest file first. Replicas sharing the folder each keep their
own index, so together they stay within the budget times their number.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cachetools import LRUCache

from common.errors import InvalidArgument

from .handles import SlideHandleCache
from .ids import parse_slide_id
from .images import encode_jpeg, flatten_alpha

DEFAULT_THUMBNAIL_SIZE = 200
MAX_THUMBNAIL_SIZE = 4096
THUMBNAIL_QUALITY = 85
THUMBNAIL_DIR_NAME = ".thumbnails"
DEFAULT_THUMBNAIL_CACHE_BYTES = 256 * 1024 * 1024
# Temporary files older than this are what a crash left mid-write.
_STALE_TEMP_S = 3600


@dataclass(frozen=True)
class Thumbnail:
    """A JPEG thumbnail (proto GetThumbnailResponse)."""

    image: bytes
    content_type: str
    from_cache: bool


def check_thumbnail_size(max_size: int | None) -> int:
    """The longest edge to render: None means 200; InvalidArgument outside 1..4096."""
    if max_size is None:
        return DEFAULT_THUMBNAIL_SIZE
    if not 1 <= max_size <= MAX_THUMBNAIL_SIZE:
        raise InvalidArgument(
            f"max_size must be between 1 and {MAX_THUMBNAIL_SIZE}, got {max_size}",
            max_size=max_size,
        )
    return max_size


class _FileIndex(LRUCache):
    """File name -> size in bytes, least recently used first; evicting a name
    deletes its file."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        super().__init__(maxsize=max_bytes, getsizeof=lambda size: size)
        self._folder = folder

    def popitem(self) -> tuple[str, int]:
        name, size = super().popitem()
        (self._folder / name).unlink(missing_ok=True)
        return name, size


class ThumbnailCache:
    """Thumbnails of the slides in `handles`, cached as JPEG files in `cache_dir`,
    at most `max_bytes` of them (0: none are kept)."""

    def __init__(
        self,
        cache_dir: Path,
        handles: SlideHandleCache,
        quality: int = THUMBNAIL_QUALITY,
        max_bytes: int = DEFAULT_THUMBNAIL_CACHE_BYTES,
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._dir = Path(cache_dir)
        self._handles = handles
        self._quality = quality
        self._lock = threading.Lock()
        self._index = _FileIndex(self._dir, max_bytes)
        self._load_index()

    @property
    def cached_bytes(self) -> int:
        """Bytes of the thumbnails this cache knows on disk."""
        with self._lock:
            return self._index.currsize

    @property
    def cache_dir(self) -> Path:
        return self._dir

    def path_for(self, slide_id: str, max_size: int) -> Path:
        """Where the thumbnail of a slide at a size is cached."""
        return self._dir / f"{parse_slide_id(slide_id)}_{int(max_size)}.jpg"

    def get(self, slide_id: str, max_size: int | None = None) -> Thumbnail:
        """The thumbnail, from disk when cached, else rendered and cached.

        Raises InvalidArgument for a bad id or size, and NotFound or
        InvalidArgument(UNPROCESSABLE_SLIDE) from opening the slide on a miss.
        """
        size = check_thumbnail_size(max_size)
        path = self.path_for(slide_id, size)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            pass
        else:
            self._used(path.name, len(data))
            return Thumbnail(image=data, content_type="image/jpeg", from_cache=True)
        with self._handles.lease(slide_id) as handle:
            # get_thumbnail already lays the slide over its background colour.
            image = flatten_alpha(handle.slide.get_thumbnail((size, size)))
            data = encode_jpeg(image, self._quality)
            if not handle.invalidated and len(data) <= self._index.maxsize:
                self._write_atomically(path, data)
                self._used(path.name, len(data))
        return Thumbnail(image=data, content_type="image/jpeg", from_cache=False)

    def invalidate(self, slide_id: str) -> int:
        """Remove every cached size of a slide; returns how many files went."""
        removed = 0
        prefix = f"{parse_slide_id(slide_id)}_"
        if not self._dir.is_dir():
            return 0
        for entry in self._dir.iterdir():
            if entry.name.startswith(prefix) and entry.suffix == ".jpg":
                entry.unlink(missing_ok=True)
                with self._lock:
                    self._index.pop(entry.name, None)
                removed += 1
        return removed

    def _used(self, name: str, size: int) -> None:
        """Mark a cached file most recently used (adding it), evicting past the budget."""
        with self._lock:
            if size > self._index.maxsize:
                return
            self._index[name] = size  # an eviction deletes the evicted file

    def _load_index(self) -> None:
        """Index the files already there, oldest first; drop a crash's temporary files."""
        if not self._dir.is_dir():
            return
        files: list[tuple[float, str, int]] = []
        stale = time.time() - _STALE_TEMP_S
        for entry in os.scandir(self._dir):
            if not entry.is_file(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
            if entry.name.endswith(".tmp") and info.st_mtime < stale:
                Path(entry.path).unlink(missing_ok=True)
            elif entry.name.endswith(".jpg"):
                files.append((info.st_mtime, entry.name, info.st_size))
        for _, name, size in sorted(files):
            if size > self._index.maxsize:
                (self._dir / name).unlink(missing_ok=True)  # the budget shrank
            else:
                self._used(name, size)

    def _write_atomically(self, path: Path, data: bytes) -> None:
        """Write to a temporary name and rename, so readers never see half a file."""
        self._dir.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temp, "xb") as file:
                file.write(data)
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
