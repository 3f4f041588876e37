"""JPEG thumbnails, cached on disk beside the slides.

A slide list shows every thumbnail at once; rendering one means OpenSlide
reading a whole low-resolution level, so each (slide, size) is rendered once
and kept as `<slides_dir>/.thumbnails/<slide_id>_<max_size>.jpg`. A cache hit
reads that file and nothing else: OpenSlide is not touched.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from common.errors import InvalidArgument

from .handles import SlideHandleCache
from .ids import parse_slide_id
from .images import encode_jpeg, flatten_alpha

DEFAULT_THUMBNAIL_SIZE = 200
MAX_THUMBNAIL_SIZE = 4096
THUMBNAIL_QUALITY = 85
THUMBNAIL_DIR_NAME = ".thumbnails"


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


class ThumbnailCache:
    """Thumbnails of the slides in `handles`, cached as JPEG files in `cache_dir`."""

    def __init__(
        self, cache_dir: Path, handles: SlideHandleCache, quality: int = THUMBNAIL_QUALITY
    ) -> None:
        self._dir = Path(cache_dir)
        self._handles = handles
        self._quality = quality

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
            return Thumbnail(image=path.read_bytes(), content_type="image/jpeg", from_cache=True)
        except FileNotFoundError:
            pass
        with self._handles.lease(slide_id) as handle:
            # get_thumbnail already lays the slide over its background colour.
            image = flatten_alpha(handle.slide.get_thumbnail((size, size)))
            data = encode_jpeg(image, self._quality)
            if not handle.invalidated:
                self._write_atomically(path, data)
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
                removed += 1
        return removed

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
