"""The open-slide cache (LRU, leases, invalidation) and the tile byte cache."""

from __future__ import annotations

import ctypes
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openslide
import pytest

from common.errors import NotFound
from services.slides.core import SlideHandleCache, TileCache, TileKey, new_slide_id
from services.slides.core.metadata import open_slide


class CountingOpener:
    """open_slide that remembers what it opened."""

    def __init__(self) -> None:
        self.opened: list[openslide.OpenSlide] = []
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> openslide.OpenSlide:
        slide = open_slide(path)
        with self.lock:
            self.opened.append(slide)
        return slide


def is_closed(slide: openslide.OpenSlide) -> bool:
    try:
        slide.dimensions  # noqa: B018 - the access is the probe
    except ctypes.ArgumentError:  # "Passing closed slide object"
        return True
    return False


def three_slides(path: Path) -> dict[str, Path]:
    return {new_slide_id(): path for _ in range(3)}


def test_lru_keeps_capacity_and_closes_the_evicted(aperio_svs: Path) -> None:
    slides = three_slides(aperio_svs)
    first, second, third = slides
    opener = CountingOpener()
    cache = SlideHandleCache(slides.__getitem__, capacity=2, opener=opener)
    for slide_id in (first, second, first, third):  # first used last-but-one: second goes
        with cache.lease(slide_id) as handle:
            assert handle.slide_id == slide_id
            assert handle.facts.vendor == "aperio"
    assert len(opener.opened) == 3
    assert first in cache and third in cache and second not in cache
    assert is_closed(opener.opened[1])
    assert not is_closed(opener.opened[0])
    cache.close()
    assert all(is_closed(slide) for slide in opener.opened)


def test_a_leased_handle_stays_open_until_released(aperio_svs: Path) -> None:
    slides = three_slides(aperio_svs)
    first, second, _ = slides
    opener = CountingOpener()
    cache = SlideHandleCache(slides.__getitem__, capacity=1, opener=opener)
    with cache.lease(first) as handle:
        with cache.lease(second):
            pass  # evicts `first` while it is leased
        assert first not in cache
        # Still readable: a render in another thread would not break.
        assert handle.slide.read_region((0, 0), 0, (8, 8)).size == (8, 8)
    assert is_closed(opener.opened[0])


def test_invalidate_closes_and_reopens_on_next_use(aperio_svs: Path) -> None:
    slide_id = new_slide_id()
    opener = CountingOpener()
    cache = SlideHandleCache({slide_id: aperio_svs}.__getitem__, opener=opener)
    with cache.lease(slide_id):
        pass
    assert cache.invalidate(slide_id) is True
    assert cache.invalidate(slide_id) is False
    assert is_closed(opener.opened[0])
    with cache.lease(slide_id) as handle:
        assert not handle.invalidated
    assert len(opener.opened) == 2


def test_a_delete_during_open_leaves_nothing_cached(aperio_svs: Path) -> None:
    slide_id = new_slide_id()
    opener = CountingOpener()

    def locate_while_deleting(requested: str) -> Path:
        cache.invalidate(requested)  # the delete lands between lookup and insert
        return aperio_svs

    cache = SlideHandleCache(locate_while_deleting, opener=opener)
    with cache.lease(slide_id) as handle:
        assert handle.invalidated  # callers skip caching tiles and thumbnails
        assert handle.slide.read_region((0, 0), 0, (4, 4)).size == (4, 4)
    assert slide_id not in cache
    assert is_closed(opener.opened[0])


def test_locator_errors_pass_through(aperio_svs: Path) -> None:
    def locate(slide_id: str) -> Path:
        raise NotFound(f"slide {slide_id} not found")

    cache = SlideHandleCache(locate)
    with pytest.raises(NotFound), cache.lease(new_slide_id()):
        pass
    assert len(cache) == 0


def test_concurrent_leases_with_constant_eviction(aperio_svs: Path, generic_tiff: Path) -> None:
    slides = {new_slide_id(): path for path in (aperio_svs, generic_tiff) * 3}
    cache = SlideHandleCache(slides.__getitem__, capacity=2)
    ids = list(slides)

    def read(index: int) -> tuple[int, int]:
        with cache.lease(ids[index % len(ids)]) as handle:
            region = handle.slide.read_region((index, index), 0, (64, 64))
            return region.size

    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(read, range(300)))
    assert sizes == [(64, 64)] * 300
    assert len(cache) == 2
    cache.close()


def test_tile_cache_lru_within_byte_budget() -> None:
    cache = TileCache(max_bytes=100)
    keys = [TileKey("a", 1, col, 0) for col in range(4)]
    for key in keys[:3]:
        cache.put(key, bytes(30))
    assert cache.get(keys[0]) is not None  # now most recently used
    cache.put(keys[3], bytes(30))  # 120 bytes > 100: the oldest (keys[1]) goes
    assert cache.get(keys[1]) is None
    assert all(cache.get(key) is not None for key in (keys[0], keys[2], keys[3]))
    stats = cache.stats()
    assert (stats.entries, stats.bytes, stats.max_bytes) == (3, 90, 100)
    cache.put(TileKey("a", 9, 9, 9), bytes(101))  # larger than the whole budget
    assert cache.stats().entries == 3


def test_tile_cache_replaces_and_invalidates_by_slide() -> None:
    cache = TileCache(max_bytes=1000)
    cache.put(TileKey("a", 1, 0, 0), b"x" * 10)
    cache.put(TileKey("a", 1, 0, 0), b"y" * 20)
    cache.put(TileKey("a", 2, 0, 0), b"z" * 5)
    cache.put(TileKey("b", 1, 0, 0), b"w" * 7)
    assert cache.stats().bytes == 32
    assert cache.invalidate_slide("a") == 2
    assert cache.get(TileKey("a", 1, 0, 0)) is None
    assert cache.get(TileKey("b", 1, 0, 0)) == b"w" * 7
    assert cache.stats().bytes == 7


def test_zero_budget_disables_the_tile_cache() -> None:
    cache = TileCache(max_bytes=0)
    cache.put(TileKey("a", 0, 0, 0), b"data")
    assert cache.get(TileKey("a", 0, 0, 0)) is None
