"""Bounded fan-out: run one awaitable per item, at most N at a time.

The first failure, or the caller being cancelled, cancels the others and waits
for them to end before it is raised, as `asyncio.TaskGroup` does; unlike a task
group it starts each awaitable only when a slot is free (a million items never
make a million tasks) and raises the failure itself, not an exception group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from common.cancellation import to_the_end

T = TypeVar("T")
R = TypeVar("R")

Finished = Callable[[list[tuple[int, R]]], Awaitable[None]]


async def fan_out(
    items: Sequence[T],
    start: Callable[[T], Awaitable[R]],
    limit: int,
    on_finished: Finished[R] | None = None,
) -> list[R]:
    """`start(item)` for every item, at most `limit` running at once; the results
    in the items' order.

    `on_finished` (a progress report, say) is awaited each time the fan-out
    wakes up, with the `(index, result)` pairs that finished together.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    results: list[R] = [None] * len(items)  # type: ignore[list-item]
    running: dict[asyncio.Future[R], int] = {}
    next_item = 0
    try:
        while next_item < len(items) or running:
            while next_item < len(items) and len(running) < limit:
                running[asyncio.ensure_future(start(items[next_item]))] = next_item
                next_item += 1
            finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            batch = []
            for future in finished:
                index = running.pop(future)
                results[index] = future.result()  # the first failure stops the rest
                batch.append((index, results[index]))
            if on_finished is not None:
                await on_finished(batch)
    finally:
        await _cancel_and_wait(running)
    return results


async def _cancel_and_wait(running: dict[asyncio.Future[R], int]) -> None:
    """Cancel what still runs and wait until it has ended (a cancelled call's
    cleanup runs to its end), even through a second cancel, which is then raised."""
    if not running:
        return
    for future in running:
        future.cancel()
    try:
        await to_the_end(asyncio.wait(running))
    finally:
        for future in running:
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a sibling's failure after the first is expected
