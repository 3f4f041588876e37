"""Deep Zoom tiles kept by the edge, so a tile a viewer asks for again (panning
back, a colleague opening the same slide) costs no backend call.

Tiles of a stored slide never change, so they are safe to keep; a slide
deleted through this edge is dropped at once, and entries expire after a TTL
so one deleted through another replica stops being served soon after.
"""

from __future__ import annotations

from cachetools import TTLCache

TileKey = tuple[str, int, int, int]  # slide id, level, col, row


class TileCache:
    def __init__(self, max_bytes: int, ttl_s: float) -> None:
        self._tiles: TTLCache[TileKey, bytes] | None = (
            TTLCache(maxsize=max_bytes, ttl=ttl_s, getsizeof=len) if max_bytes > 0 else None
        )

    def get(self, key: TileKey) -> bytes | None:
        return self._tiles.get(key) if self._tiles is not None else None

    def put(self, key: TileKey, tile: bytes) -> None:
        if self._tiles is not None and len(tile) <= self._tiles.maxsize:
            self._tiles[key] = tile

    def drop_slide(self, slide_id: str) -> None:
        if self._tiles is not None:
            for key in [key for key in self._tiles if key[0] == slide_id]:
                self._tiles.pop(key, None)
