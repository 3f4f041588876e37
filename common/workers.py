"""A bounded pool of threads for a service's blocking calls.

File reads, OpenSlide, decoding and encoding block. Servicers await them here,
so the event loop keeps serving other RPCs, and the pool's size bounds how
many run at once (and how much memory they hold).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_END = object()


class Workers:
    """Runs blocking functions and iterators on `threads` worker threads."""

    def __init__(self, threads: int, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)` on a worker thread."""
        return await asyncio.wrap_future(self._pool.submit(function, *args, **kwargs))

    async def iterate(self, iterator: Iterator[T]) -> AsyncIterator[T]:
        """The items of a blocking iterator, each produced on a worker thread.

        One item at a time, so memory stays bounded by what one step holds.
        When the consumer stops early (a cancelled RPC), the iterator is closed
        after the step in flight ends, never while it runs.
        """
        step: Future[Any] | None = None
        try:
            while True:
                step = self._pool.submit(next, iterator, _END)
                item = await asyncio.wrap_future(step)
                if item is _END:
                    return
                yield item
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                if step is None:
                    close()
                else:
                    step.add_done_callback(lambda _: close())

    def close(self, wait: bool = True) -> None:
        """Drop queued calls and, with `wait`, let running ones end (at shutdown)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
