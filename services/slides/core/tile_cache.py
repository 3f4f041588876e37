"""A bounded in-memory LRU cache of encoded tiles.

Viewers ask for the same tiles again and again while a pathologist pans back
and forth; serving them from memory skips OpenSlide, resampling and JPEG
encoding. The budget counts encoded bytes, not entries, since tile sizes vary
tenfold between tissue and background.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

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
    """Thread-safe LRU of tile bytes within a byte budget (0 disables caching)."""

    def __init__(self, max_bytes: int = DEFAULT_TILE_CACHE_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._max_bytes = max_bytes
        self._entries: OrderedDict[TileKey, bytes] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def get(self, key: TileKey) -> bytes | None:
        """The cached tile, marked most recently used; None on a miss."""
        with self._lock:
            data = self._entries.get(key)
            if data is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return data

    def put(self, key: TileKey, data: bytes) -> None:
        """Cache a tile, evicting the least recently used ones to stay within budget."""
        size = len(data)
        if size > self._max_bytes:
            return  # would evict everything and still not fit
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = data
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted)

    def invalidate_slide(self, slide_id: str) -> int:
        """Drop every tile of a slide; returns how many were dropped."""
        with self._lock:
            keys = [key for key in self._entries if key.slide_id == slide_id]
            for key in keys:
                self._bytes -= len(self._entries.pop(key))
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> TileCacheStats:
        with self._lock:
            return TileCacheStats(
                entries=len(self._entries),
                bytes=self._bytes,
                max_bytes=self._max_bytes,
                hits=self._hits,
                misses=self._misses,
            )
