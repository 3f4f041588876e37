"""common.fanout: at most N at a time, results in order, and a failure or a
cancel stops the rest, whose cleanup runs before it is raised."""

from __future__ import annotations

import asyncio

import pytest

from common.fanout import fan_out


class Probe:
    """Counts what runs at once, what started and what was cleaned up."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: list[int] = []
        self.cleaned: list[int] = []

    async def work(self, item: int, delay: float = 0.01, fail_on: int | None = None) -> int:
        self.started.append(item)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(delay * (1 + item % 3))
            if item == fail_on:
                raise ValueError(f"item {item} failed")
            return item * item
        finally:
            self.running -= 1
            self.cleaned.append(item)


@pytest.mark.parametrize("limit", [1, 3, 50])
async def test_every_item_at_most_limit_at_once_results_in_order(limit: int) -> None:
    probe = Probe()
    items = list(range(20))
    batches: list[list[tuple[int, int]]] = []

    async def finished(batch: list[tuple[int, int]]) -> None:
        batches.append(batch)

    results = await fan_out(items, probe.work, limit, on_finished=finished)
    assert results == [item * item for item in items]
    assert probe.most == min(limit, len(items))
    assert probe.started == items  # started in order, each once
    assert sorted(pair for batch in batches for pair in batch) == list(enumerate(results))
    assert all(batches)  # one call per wake-up, each with what finished then


async def test_the_first_failure_stops_the_rest_after_their_cleanup() -> None:
    probe = Probe()

    async def work(item: int) -> int:
        return await probe.work(item, delay=0.05 if item else 0.001, fail_on=0)

    with pytest.raises(ValueError, match="item 0 failed"):  # the failure itself, no group
        await fan_out(list(range(10)), work, 3)
    assert probe.started == [0, 1, 2]  # nothing starts after the failure
    assert sorted(probe.cleaned) == [0, 1, 2] and probe.running == 0


async def test_a_failing_report_stops_the_rest() -> None:
    probe = Probe()

    async def finished(batch: list[tuple[int, int]]) -> None:
        raise RuntimeError("report failed")

    with pytest.raises(RuntimeError, match="report failed"):
        await fan_out(list(range(10)), probe.work, 4, on_finished=finished)
    assert probe.running == 0 and len(probe.started) == 4


async def test_cancelling_the_caller_cancels_the_rest_after_their_cleanup() -> None:
    probe = Probe()
    task = asyncio.create_task(fan_out(list(range(10)), lambda i: probe.work(i, 10.0), 4))
    while len(probe.started) < 4:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert probe.started == [0, 1, 2, 3]
    assert sorted(probe.cleaned) == [0, 1, 2, 3] and probe.running == 0


async def test_no_items_and_a_bad_limit() -> None:
    assert await fan_out([], Probe().work, 2) == []
    with pytest.raises(ValueError, match="at least 1"):
        await fan_out([1], Probe().work, 0)
