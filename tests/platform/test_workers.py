"""The bounded thread pool the servicer runs blocking core calls on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from common.workers import Workers


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers(2, "test")
    yield pool
    pool.close()


async def test_run_happens_off_the_event_loop(workers: Workers) -> None:
    loop_thread = threading.get_ident()
    ran_on = await workers.run(threading.get_ident)
    assert ran_on != loop_thread
    assert await workers.run(divmod, 7, 2) == (3, 1)
    assert await workers.run(int, "ff", base=16) == 255


async def test_iterate_yields_each_item_from_a_worker(workers: Workers) -> None:
    def numbers() -> Iterator[tuple[int, int]]:
        for number in range(3):
            yield number, threading.get_ident()

    items = [item async for item in workers.iterate(numbers())]
    assert [number for number, _ in items] == [0, 1, 2]
    assert threading.get_ident() not in {thread for _, thread in items}


async def test_iterate_closes_the_iterator_when_the_consumer_leaves(workers: Workers) -> None:
    closed = threading.Event()
    step_running = threading.Event()
    let_step_finish = threading.Event()

    def slow_chunks() -> Iterator[bytes]:
        try:
            yield b"first"
            step_running.set()
            let_step_finish.wait(5)  # a region band being read when the RPC is cancelled
            yield b"second"
        finally:
            closed.set()

    async def consume() -> None:
        async for _ in workers.iterate(slow_chunks()):
            pass

    task = asyncio.create_task(consume())
    await asyncio.to_thread(step_running.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Closed only once the step in flight has ended, never under it.
    assert not closed.is_set()
    let_step_finish.set()
    assert await asyncio.to_thread(closed.wait, 5)
