"""Fixtures of the edge tests."""

from __future__ import annotations

import asyncio

import pytest

from common.jobs import JobContext


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
