"""Open slides, kept in a small LRU cache and lent out under a lease.

OpenSlide >= 3.3.1 is thread-safe, so one handle per slide serves every
thread. Opening a slide parses its whole directory structure and building a
DeepZoomGenerator is not free either, so both live as long as the handle.

A handle is borrowed with `with cache.lease(slide_id) as handle:`. Eviction
(the cache is full) and invalidation (the slide was deleted) take the handle
out of the cache at once, but close it only when its last lease ends, so a
tile render in another thread never sees its slide closed under it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import openslide
from openslide.deepzoom import DeepZoomGenerator

from .deepzoom import new_deepzoom_generator
from .metadata import open_slide, read_facts
from .models import SlideFacts

# Finds a slide's file from its id; raises NotFound when there is none.
Locator = Callable[[str], Path]
# Opens a slide file; raises InvalidArgument(UNPROCESSABLE_SLIDE) when it cannot.
Opener = Callable[[Path], openslide.AbstractSlide]


class SlideHandle:
    """One open slide: the OpenSlide object, its Deep Zoom generator and its facts."""

    def __init__(self, slide_id: str, path: Path, slide: openslide.AbstractSlide) -> None:
        self.slide_id = slide_id
        self.path = path
        self.slide = slide
        self.deepzoom: DeepZoomGenerator = new_deepzoom_generator(slide)
        self.facts: SlideFacts = read_facts(slide)
        # Guarded by the owning cache's lock.
        self._leases = 0
        self._retired = False  # out of the cache; close when the last lease ends
        self.invalidated = False  # the slide was deleted; do not cache what it renders

    def close(self) -> None:
        self.slide.close()


class SlideHandleCache:
    """A bounded, thread-safe LRU cache of open slides keyed by slide id."""

    def __init__(self, locate: Locator, capacity: int = 16, opener: Opener = open_slide) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._locate = locate
        self._opener = opener
        self._capacity = capacity
        self._handles: OrderedDict[str, SlideHandle] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by every invalidation, so an open racing a delete is not cached.
        self._invalidations = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        with self._lock:
            return len(self._handles)

    def __contains__(self, slide_id: object) -> bool:
        with self._lock:
            return slide_id in self._handles

    @contextmanager
    def lease(self, slide_id: str) -> Iterator[SlideHandle]:
        """Borrow the open slide `slide_id`, opening it on a miss.

        Raises what the locator raises (NotFound) and what the opener raises
        (InvalidArgument with code UNPROCESSABLE_SLIDE).
        """
        handle = self._acquire(slide_id)
        try:
            yield handle
        finally:
            self._release(handle)

    def invalidate(self, slide_id: str) -> bool:
        """Forget the slide (it was deleted): close it now or when its last lease ends."""
        with self._lock:
            self._invalidations += 1
            handle = self._handles.pop(slide_id, None)
            if handle is None:
                return False
            handle.invalidated = True
            close_now = self._retire(handle)
        if close_now:
            handle.close()
        return True

    def close(self) -> None:
        """Close every cached slide (at shutdown); leased ones close when released."""
        with self._lock:
            handles = list(self._handles.values())
            self._handles.clear()
            to_close = [handle for handle in handles if self._retire(handle)]
        for handle in to_close:
            handle.close()

    def _acquire(self, slide_id: str) -> SlideHandle:
        with self._lock:
            handle = self._handles.get(slide_id)
            if handle is not None:
                self._handles.move_to_end(slide_id)
                handle._leases += 1
                return handle
            invalidations_before = self._invalidations
        # Open outside the lock: opening one slide must not stall every other.
        path = self._locate(slide_id)
        slide = self._opener(path)
        try:
            fresh = SlideHandle(slide_id, path, slide)
        except BaseException:
            slide.close()
            raise
        to_close: list[SlideHandle] = []
        with self._lock:
            handle = self._handles.get(slide_id)
            if handle is not None:
                # Another thread opened it meanwhile; keep theirs.
                self._handles.move_to_end(slide_id)
                to_close.append(fresh)
            elif self._invalidations != invalidations_before:
                # A delete (of this or any slide) ran while we opened: serve
                # this one lease, cache nothing, so a deleted slide never lingers.
                handle = fresh
                handle._retired = True
                handle.invalidated = True
            else:
                handle = fresh
                self._handles[slide_id] = handle
                while len(self._handles) > self._capacity:
                    _, evicted = self._handles.popitem(last=False)
                    if self._retire(evicted):
                        to_close.append(evicted)
            handle._leases += 1
        for stale in to_close:
            stale.close()
        return handle

    def _release(self, handle: SlideHandle) -> None:
        with self._lock:
            handle._leases -= 1
            close_now = handle._retired and handle._leases == 0
        if close_now:
            handle.close()

    @staticmethod
    def _retire(handle: SlideHandle) -> bool:
        """Mark a handle out of the cache (lock held); True when it can close now."""
        handle._retired = True
        return handle._leases == 0
