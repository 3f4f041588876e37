"""A small LRU of open resources (file readers, slides) lent out under leases.

Opening is costly (parsing a file's structure), so open resources are kept by
key and reused. Threads borrow one with `with cache.lease(key) as value:`.
Eviction (the cache is full), `discard` (the resource went away) and `clear`
take entries out of the cache at once but close each only when its last lease
ends, so a read in another thread never sees its resource closed under it.

A key may have up to `per_key` open values: another is opened only while every
open one is leased, and a lease takes the least busy, for resources that
serialise their own use (one reader per file per thread).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(eq=False)
class _Entry(Generic[V]):
    value: V
    leases: int = 0
    retired: bool = False  # out of the cache; close when the last lease ends


class LeasedLRU(Generic[K, V]):
    """Thread-safe LRU of at most `capacity` keys, each with up to `per_key` values.

    `open(key)` makes a value (outside the lock: one slow open stalls no other
    key) and `close(value)` ends it. `on_discard(value)`, when given, is told of
    every value `discard` takes out, and of a value opened while a discard ran,
    which serves its one lease uncached, so nothing discarded lingers.
    """

    def __init__(
        self,
        open: Callable[[K], V],
        close: Callable[[V], None],
        capacity: int = 16,
        per_key: int = 1,
        on_discard: Callable[[V], None] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if per_key < 1:
            raise ValueError(f"per_key must be >= 1, got {per_key}")
        self._open = open
        self._close = close
        self._capacity = capacity
        self._per_key = per_key
        self._on_discard = on_discard
        self._groups: OrderedDict[K, list[_Entry[V]]] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by every discard, so an open racing one is not cached.
        self._discards = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        """Open values in the cache (of every key)."""
        with self._lock:
            return sum(len(group) for group in self._groups.values())

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._groups

    @contextmanager
    def lease(self, key: K) -> Iterator[V]:
        """Borrow a value of `key`, opening one on a miss; raises what `open` raises."""
        entry = self._acquire(key)
        try:
            yield entry.value
        finally:
            self._release(entry)

    def discard(self, key: K) -> bool:
        """Take `key` out (its resource went away); False when it was not cached.

        Cached or not, a value of any key being opened meanwhile is not cached.
        """
        return self._discard(lambda candidate: candidate == key, always=True) > 0

    def discard_where(self, predicate: Callable[[K], bool]) -> int:
        """Take out every key `predicate` accepts; how many keys went."""
        return self._discard(predicate, always=False)

    def _discard(self, predicate: Callable[[K], bool], always: bool) -> int:
        with self._lock:
            keys = [key for key in self._groups if predicate(key)]
            if keys or always:
                self._discards += 1
            if not keys:
                return 0
            entries = [entry for key in keys for entry in self._groups.pop(key)]
            idle = self._retire(entries)
        if self._on_discard is not None:
            for entry in entries:
                self._on_discard(entry.value)
        self._close_all(idle)
        return len(keys)

    def clear(self) -> None:
        """Take everything out (at shutdown); leased values close when released."""
        with self._lock:
            self._discards += 1
            entries = [entry for group in self._groups.values() for entry in group]
            self._groups.clear()
            idle = self._retire(entries)
        self._close_all(idle)

    def _acquire(self, key: K) -> _Entry[V]:
        with self._lock:
            group = self._groups.get(key)
            if group is not None:
                self._groups.move_to_end(key)
                entry = self._choose(group)
                if entry is not None:
                    entry.leases += 1
                    return entry
            discards_before = self._discards
        fresh = _Entry(self._open(key), leases=1)
        idle: list[_Entry[V]] = []
        with self._lock:
            if self._discards != discards_before:
                # A discard (of this key or any) ran while we opened: serve this
                # one lease, cache nothing, so a discarded resource never lingers.
                fresh.retired = True
                entry = fresh
            else:
                group = self._groups.get(key)
                if group is None:
                    self._groups[key] = group = []
                    while len(self._groups) > self._capacity:
                        idle += self._retire(self._groups.popitem(last=False)[1])
                else:
                    self._groups.move_to_end(key)
                # Other threads may have opened values of this key meanwhile.
                entry = self._choose(group)
                if entry is None:
                    group.append(fresh)
                    entry = fresh
                else:
                    entry.leases += 1
                    fresh.leases = 0
                    idle.append(fresh)
        if entry is fresh and fresh.retired and self._on_discard is not None:
            self._on_discard(fresh.value)
        self._close_all(idle)
        return entry

    def _choose(self, group: list[_Entry[V]]) -> _Entry[V] | None:
        """The value to lease (lock held): an idle one, else the least busy once the
        key has all its values; None means open another."""
        if not group:
            return None
        least_busy = min(group, key=lambda entry: entry.leases)
        if least_busy.leases == 0 or len(group) >= self._per_key:
            return least_busy
        return None

    def _release(self, entry: _Entry[V]) -> None:
        with self._lock:
            entry.leases -= 1
            close = entry.retired and entry.leases == 0
        if close:
            self._close(entry.value)

    @staticmethod
    def _retire(entries: list[_Entry[V]]) -> list[_Entry[V]]:
        """Mark entries out of the cache (lock held); those that can close now."""
        for entry in entries:
            entry.retired = True
        return [entry for entry in entries if entry.leases == 0]

    def _close_all(self, entries: list[_Entry[V]]) -> None:
        for entry in entries:
            self._close(entry.value)
