"""common.leased_lru: the leasing both the microscopy reader cache and the slides
handle cache use (each also tested through its own real files)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from common.leased_lru import LeasedLRU


class Resource:
    def __init__(self, key: str) -> None:
        self.key = key
        self.closed = False
        self.discarded = False


class Recorder:
    """Opens resources and remembers every one, to check what was closed."""

    def __init__(self) -> None:
        self.opened: list[Resource] = []

    def open(self, key: str) -> Resource:
        resource = Resource(key)
        self.opened.append(resource)
        return resource


def make(recorder: Recorder, **options) -> LeasedLRU[str, Resource]:
    def close(resource: Resource) -> None:
        assert not resource.closed, "closed twice"
        resource.closed = True

    def discarded(resource: Resource) -> None:
        resource.discarded = True

    return LeasedLRU(recorder.open, close, on_discard=discarded, **options)


def test_a_key_is_opened_once_and_evicted_least_recently_used_first() -> None:
    recorder = Recorder()
    cache = make(recorder, capacity=2)
    for key in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" comes
        with cache.lease(key):
            pass
    assert [resource.key for resource in recorder.opened] == ["a", "b", "c"]
    assert "b" not in cache and "a" in cache and "c" in cache
    assert [resource.closed for resource in recorder.opened] == [False, True, False]


def test_eviction_and_discard_close_only_after_the_last_lease() -> None:
    recorder = Recorder()
    cache = make(recorder, capacity=1)
    with cache.lease("a") as a:
        with cache.lease("b"):  # evicts "a", which is in use
            assert not a.closed
        assert not a.closed
    assert a.closed
    with cache.lease("b") as b:
        assert cache.discard("b") is True
        assert b.discarded and not b.closed
    assert b.closed and len(cache) == 0
    assert cache.discard("b") is False


def test_a_value_opened_while_a_discard_runs_is_served_once_uncached() -> None:
    recorder = Recorder()

    def open_while_discarding(key: str) -> Resource:
        cache.discard(key)  # the resource goes away between lookup and insert
        return recorder.open(key)

    cache = LeasedLRU(
        open_while_discarding,
        lambda r: setattr(r, "closed", True),
        on_discard=lambda r: setattr(r, "discarded", True),
    )
    with cache.lease("a") as resource:
        assert resource.discarded and not resource.closed
    assert resource.closed and "a" not in cache


def test_busy_keys_get_up_to_per_key_values() -> None:
    recorder = Recorder()
    cache = make(recorder, per_key=2)
    with cache.lease("a") as first, cache.lease("a") as second, cache.lease("a") as third:
        assert first is not second and third in (first, second)
    with cache.lease("a") as again:
        assert again in (first, second)
    assert len(recorder.opened) == 2 and len(cache) == 2


def test_open_errors_cache_nothing() -> None:
    def refuse(key: str) -> Resource:
        raise FileNotFoundError(key)

    cache: LeasedLRU[str, Resource] = LeasedLRU(refuse, lambda resource: None)
    with pytest.raises(FileNotFoundError), cache.lease("a"):
        pass
    assert len(cache) == 0


def test_many_threads_with_constant_eviction_close_each_value_once() -> None:
    recorder = Recorder()
    lock = threading.Lock()

    def open_counted(key: str) -> Resource:
        with lock:
            return recorder.open(key)

    cache = LeasedLRU(open_counted, lambda r: setattr(r, "closed", True), capacity=2)

    def use(index: int) -> bool:
        with cache.lease(str(index % 5)) as resource:
            return not resource.closed

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(use, range(2000)))
    cache.clear()
    assert all(resource.closed for resource in recorder.opened)
