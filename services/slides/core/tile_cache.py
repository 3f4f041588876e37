"""A bounded in-memory LRU cache of encoded tiles.

Viewers ask for the same tiles again and again while a pathologist pans back
and forth; serving them from memory skips OpenSlide, resampling and JPEG
encoding. The budget counts encoded bytes, not entries, since tile sizes vary
tenfold between tissue and background.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple

from cachetools import LRUCache

DEFAULT_TILE_CACHE_BYTES = 256 * 1024 * 1024


class TileKey(NamedTuple):
    """A Deep Zoom tile of a slide."""

    slide_id: str
    level: int
    col: int
    row: int


@dataclass(frozen=True)
class TileCacheStats:
    """How the cache is doing (for metrics and tests)."""

    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int


class TileCache:
    """Thread-safe LRU of tile bytes within a byte budget (0 disables caching).

    cachetools keeps the order and the byte count, as in the edge's tile cache
    (edge/tile_cache.py); it is not thread-safe, so one lock guards it.
    """

    def __init__(self, max_bytes: int = DEFAULT_TILE_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._tiles: LRUCache[TileKey, bytes] = LRUCache(maxsize=max_bytes, getsizeof=len)
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def get(self, key: TileKey) -> bytes | None:
        """The cached tile, marked most recently used; None on a miss."""
        with self._lock:
            data = self._tiles.get(key)
            if data is None:
                self._misses += 1
            else:
                self._hits += 1
            return data

    def put(self, key: TileKey, data: bytes) -> None:
        """Cache a tile, evicting the least recently used ones to stay within budget."""
        if len(data) > self._tiles.maxsize:
            return  # would evict everything and still not fit
        with self._lock:
            self._tiles[key] = data

    def invalidate_slide(self, slide_id: str) -> int:
        """Drop every tile of a slide; returns how many were dropped."""
        with self._lock:
            keys = [key for key in self._tiles if key.slide_id == slide_id]
            for key in keys:
                del self._tiles[key]
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()

    def stats(self) -> TileCacheStats:
        with self._lock:
            return TileCacheStats(
                entries=len(self._tiles),
                bytes=self._tiles.currsize,
                max_bytes=self._tiles.maxsize,
                hits=self._hits,
                misses=self._misses,
            )
