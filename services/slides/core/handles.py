"""Open slides, kept in a small LRU cache and lent out under a lease.

OpenSlide >= 3.3.1 is thread-safe, so one handle per slide serves every
thread. Opening a slide parses its whole directory structure and building a
DeepZoomGenerator is not free either, so both live as long as the handle.

A handle is borrowed with `with cache.lease(slide_id) as handle:`. Eviction
(the cache is full) and invalidation (the slide was deleted) take the handle
out of the cache at once, but close it only when its last lease ends, so a
tile render in another thread never sees its slide closed under it (the
leasing is common.leased_lru's, shared with the microscopy reader cache).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import openslide
from openslide.deepzoom import DeepZoomGenerator

from common.leased_lru import LeasedLRU

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
        self.invalidated = False  # the slide was deleted; do not cache what it renders

    def close(self) -> None:
        self.slide.close()


def _mark_invalidated(handle: SlideHandle) -> None:
    handle.invalidated = True


class SlideHandleCache:
    """A bounded, thread-safe LRU cache of open slides keyed by slide id."""

    def __init__(self, locate: Locator, capacity: int = 16, opener: Opener = open_slide) -> None:
        self._locate = locate
        self._opener = opener
        self._handles: LeasedLRU[str, SlideHandle] = LeasedLRU(
            self._open, SlideHandle.close, capacity, on_discard=_mark_invalidated
        )

    @property
    def capacity(self) -> int:
        return self._handles.capacity

    def __len__(self) -> int:
        return len(self._handles)

    def __contains__(self, slide_id: object) -> bool:
        return slide_id in self._handles

    def lease(self, slide_id: str) -> AbstractContextManager[SlideHandle]:
        """Borrow the open slide `slide_id`, opening it on a miss.

        Raises what the locator raises (NotFound) and what the opener raises
        (InvalidArgument with code UNPROCESSABLE_SLIDE).
        """
        return self._handles.lease(slide_id)

    def invalidate(self, slide_id: str) -> bool:
        """Forget the slide (it was deleted): close it now or when its last lease ends."""
        return self._handles.discard(slide_id)

    def close(self) -> None:
        """Close every cached slide (at shutdown); leased ones close when released."""
        self._handles.clear()

    def _open(self, slide_id: str) -> SlideHandle:
        path = self._locate(slide_id)
        slide = self._opener(path)
        try:
            return SlideHandle(slide_id, path, slide)
        except BaseException:
            slide.close()
            raise
