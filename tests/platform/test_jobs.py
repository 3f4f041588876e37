"""Jobs on the real PostgreSQL: lifecycle, progress, cancellation, recovery."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from common import errors
from common.db import JOBS_MIGRATIONS, open_service_database
from common.jobs import JobContext, JobRunner, JobStatus, JobStore


@pytest.fixture
async def store(database_url):
    schema = f"jobs_{uuid.uuid4().hex[:8]}"
    pool = await open_service_database(database_url, schema, [JOBS_MIGRATIONS])
    yield JobStore(pool)
    await pool.execute(f"DROP SCHEMA {schema} CASCADE")
    await pool.close()


async def _until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_a_job_runs_to_completion_with_progress(store):
    runner = JobRunner(store)
    seen: list[float] = []

    async def work(job: JobContext):
        for done in range(1, 5):
            await job.report(current=done, total=4, step="segmentation", force=True)
            seen.append(job.progress.percentage)
        await job.report(step_done="segmentation", force=True)
        return {"cells": 12}

    job = await runner.submit("workflow", work, params={"fov": 3}, labels={"path": "/x.nd2"})
    assert job.status is JobStatus.PENDING
    await _until(lambda: _status_is(store, job.id, JobStatus.COMPLETED))
    done = await store.get(job.id)
    assert done.result == {"cells": 12}
    assert done.progress.current == 4 and done.progress.percentage == 100.0
    assert done.progress.steps_completed == ["segmentation"]
    assert done.params == {"fov": 3} and done.labels == {"path": "/x.nd2"}
    assert done.started_at <= done.finished_at
    assert seen == [25.0, 50.0, 75.0, 100.0]
    counts = await store.counts()
    assert counts.completed_today == 1 and counts.running == 0


async def _status_is(store: JobStore, job_id: str, status: JobStatus) -> bool:
    return (await store.get(job_id)).status is status


async def test_cancel_really_stops_the_work(store):
    runner = JobRunner(store)
    steps = 0

    async def endless(job: JobContext):
        nonlocal steps
        while True:
            steps += 1
            await asyncio.sleep(0.01)

    job = await runner.submit("workflow", endless)
    await _until(lambda: _status_is(store, job.id, JobStatus.RUNNING))
    cancelled = await runner.cancel(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    after = steps
    await asyncio.sleep(0.1)
    assert steps == after, "the work no longer runs"
    with pytest.raises(errors.FailedPrecondition) as raised:
        await runner.cancel(job.id)
    assert raised.value.code == errors.JOB_ALREADY_COMPLETED


async def test_cancel_requested_elsewhere_stops_at_the_next_report(store):
    # Another replica only flags the record; the worker sees it when it reports.
    runner = JobRunner(store)

    async def reporting(job: JobContext):
        for n in range(1000):
            await job.report(current=n, total=1000, force=True)
            await asyncio.sleep(0.01)

    job = await runner.submit("workflow", reporting)
    await _until(lambda: _status_is(store, job.id, JobStatus.RUNNING))
    await store.request_cancel(job.id)
    await _until(lambda: _status_is(store, job.id, JobStatus.CANCELLED))
    assert (await store.get(job.id)).progress.current < 1000


class SlowToFinish(JobStore):
    """The real store on a database slow to write a job's final record."""

    async def finish(self, *args, **kwargs):
        await asyncio.sleep(0.3)
        return await super().finish(*args, **kwargs)


@pytest.mark.parametrize("ending", ["cancelled", "completed"])
async def test_a_second_cancel_cannot_leave_a_job_running(store, ending):
    # The heartbeat (every 50 ms here) cancels the task again for the same cancel
    # request, and a shutdown cancels a job finishing: its final record is still
    # written (once it was not, and the job stayed "running", worked on by nobody).
    slow = SlowToFinish(store._pool)
    runner = JobRunner(slow, heartbeat_s=0.05)
    await runner.start()
    finishing = asyncio.Event()

    async def work(job: JobContext):
        if ending == "completed":
            finishing.set()
            return {"done": True}
        while True:
            await asyncio.sleep(0.01)

    job = await runner.submit("workflow", work)
    try:
        if ending == "cancelled":
            await _until(lambda: _status_is(store, job.id, JobStatus.RUNNING))
            stopped = await runner.cancel(job.id)
        else:
            await finishing.wait()
            await asyncio.sleep(0.05)  # inside the slow final write
            await runner.close()
            stopped = await store.get(job.id)
    finally:
        await runner.close()
    assert stopped.status is JobStatus(ending), stopped


async def test_errors_fail_the_job_with_a_reason(store):
    runner = JobRunner(store)

    async def bad_input(job: JobContext):
        raise errors.InvalidArgument("channel 7 does not exist", code=errors.INVALID_PARAMETERS)

    async def crash(job: JobContext):
        raise ZeroDivisionError("oops")

    first = await runner.submit("workflow", bad_input)
    second = await runner.submit("workflow", crash)
    await _until(lambda: _status_is(store, first.id, JobStatus.FAILED))
    await _until(lambda: _status_is(store, second.id, JobStatus.FAILED))
    failed = await store.get(first.id)
    assert (failed.error_code, failed.error_message) == (
        "INVALID_PARAMETERS",
        "channel 7 does not exist",
    )
    crashed = await store.get(second.id)
    assert crashed.error_code == "PROCESSING_ERROR" and "error id" in crashed.error_message


async def test_interrupted_jobs_are_failed_or_resumed_never_left_running(store):
    # A worker that died mid-job: its jobs are running with an old heartbeat.
    orphan = await store.create("workflow")
    resumable = await store.create("fitting")
    for job in (orphan, resumable):
        await store.start(job.id, "dead-worker")
    await store._pool.execute("UPDATE jobs SET heartbeat_at = now() - interval '1 hour'")

    resumed = asyncio.Event()

    async def resume_fitting(job: JobContext):
        resumed.set()
        return {"resumed": True}

    runner = JobRunner(store, resume_handlers={"fitting": resume_fitting}, stale_after_s=30)
    await runner.start()
    try:
        await asyncio.wait_for(resumed.wait(), 5)
        await _until(lambda: _status_is(store, resumable.id, JobStatus.COMPLETED))
        failed = await store.get(orphan.id)
        assert failed.status is JobStatus.FAILED
        assert "Interrupted" in failed.error_message
    finally:
        await runner.close()


async def test_watch_follows_a_job_to_its_end(store):
    runner = JobRunner(store)
    release = asyncio.Event()

    async def work(job: JobContext):
        await job.report(current=1, total=2, force=True)
        await release.wait()
        return {}

    job = await runner.submit("workflow", work)
    statuses: list[JobStatus] = []

    async def follow():
        async for record in store.watch(job.id, poll_s=0.05):
            statuses.append(record.status)

    follower = asyncio.create_task(follow())
    await _until(lambda: _progress_is(store, job.id, 1))
    release.set()
    await asyncio.wait_for(follower, 5)
    assert statuses[-1] is JobStatus.COMPLETED
    assert JobStatus.RUNNING in statuses


async def _progress_is(store: JobStore, job_id: str, current: int) -> bool:
    return (await store.get(job_id)).progress.current == current


async def test_unknown_and_malformed_ids_are_job_not_found(store):
    for job_id in (str(uuid.uuid4()), "job_1234567890"):
        with pytest.raises(errors.NotFound) as raised:
            await store.get(job_id)
        assert raised.value.code == errors.JOB_NOT_FOUND


async def test_list_filters_by_labels_in_the_database(store):
    """Only jobs whose labels include every label asked for; the total counts them all,
    past `limit` (no listing of every job to filter in Python)."""
    slide_a, slide_b = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(3):
        await store.create("slide_analysis", labels={"slide_id": slide_a, "box_id": "x"})
    other = await store.create("slide_analysis", labels={"slide_id": slide_b})
    await store.create("workflow", labels={"slide_id": slide_a})

    jobs, total = await store.list(job_type="slide_analysis", labels={"slide_id": slide_a}, limit=2)
    assert total == 3 and len(jobs) == 2
    assert all(job.labels["slide_id"] == slide_a for job in jobs)
    jobs, total = await store.list(labels={"slide_id": slide_b})
    assert [job.id for job in jobs] == [other.id] and total == 1
    _, total = await store.list(labels={"slide_id": slide_a, "box_id": "y"})
    assert total == 0
    _, everything = await store.list(labels={})
    assert everything == 5
