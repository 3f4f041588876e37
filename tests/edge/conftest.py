"""Fixtures of the edge tests."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from common.jobs import JobContext
from tests.harness import RunningPlatform


@pytest.fixture
def blocked_job(platform):
    """A microscopy job that runs until released; yields (job id, release)."""
    release = asyncio.Event()

    async def work(job: JobContext):
        await job.report(current=3, total=10, step="segmentation", force=True)
        await release.wait()
        await job.report(current=10, total=10, step_done="segmentation", force=True)
        return {"cells": 1}

    async def submit():
        runner = platform.runners["microscopy"].service.jobs
        job = await runner.submit("workflow", work, labels={"microscopy_path": "/x.nd2"})
        while (await runner.store.get(job.id)).progress.current != 3:
            await asyncio.sleep(0.02)
        return job.id

    job_id = platform.loop.run(submit())
    yield job_id, lambda: platform.loop.loop.call_soon_threadsafe(release.set)
    platform.loop.loop.call_soon_threadsafe(release.set)


@contextmanager
def hung_service(platform: RunningPlatform, name: str) -> Iterator[None]:
    """`name`'s port accepts connections and never answers, as a SIGSTOPped
    process does; the real service comes back afterwards."""
    port = int(platform.address(name).rsplit(":", 1)[1])
    platform.stop_service(name)
    hung = socket.create_server(("127.0.0.1", port))
    try:
        yield
    finally:
        hung.close()
        platform.start_service(name)
        wait_until_the_edge_reaches(platform, name)


def wait_until_the_edge_reaches(platform: RunningPlatform, name: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        backends = httpx.get(f"{platform.base_url}/health", timeout=10).json()["backends"]
        if backends[name]["status"] == "serving":
            return
        assert time.monotonic() < deadline, f"the edge did not reach {name} again"
        time.sleep(0.1)
