"""Work that must end once begun, even when its task is cancelled meanwhile.

A job's final record, or the cleanup of calls a fan-out cancelled, is written
after a first cancel; a second cancel (a heartbeat noticing the same request,
a caller's retry, a shutdown) must not cut it short and leave a job "running"
with nobody working on it. `to_the_end` waits through such cancels and raises
the cancel afterwards, so the task still ends cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def to_the_end(awaitable: Awaitable[T]) -> T:
    """`await awaitable`, run to its end even if this task is cancelled meanwhile;
    a cancel that arrived meanwhile is raised once it has ended."""
    inner = asyncio.ensure_future(awaitable)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(inner)
            break
        except asyncio.CancelledError:
            if inner.done():  # the awaitable itself was cancelled
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result
