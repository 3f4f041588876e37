"""Runs jobs in this process and keeps their records honest.

`JobRunner.submit()` records a pending job and starts its work as an asyncio
task; the work reports progress through a `JobContext` (throttled writes, an
ETA from the rate so far) and learns of cancellation there. A cancel request
cancels the task itself, so work really stops; one made through another process
is seen at the next report or heartbeat. A sweeper takes over jobs whose
worker stopped reporting (a crashed or restarted process): jobs of a type with
a resume handler are resumed (their steps are idempotent), the others fail with
the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from common import errors
from common.cancellation import to_the_end
from common.jobs.model import JobProgress, JobRecord, JobStatus
from common.jobs.store import JobStore

logger = logging.getLogger("micrographia.jobs")

JobWork = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]
UnstartedCancelHandler = Callable[[JobRecord], Awaitable[None]]


class JobContext:
    """What running work sees of its job."""

    def __init__(self, store: JobStore, job: JobRecord, min_interval_s: float = 0.25) -> None:
        self.job_id = job.id
        self.params = job.params
        self.progress = job.progress
        self._store = store
        self._min_interval_s = min_interval_s
        self._last_write = 0.0
        self._started = time.monotonic()
        self._start_count = job.progress.current
        self.cancel_requested = False

    async def report(
        self,
        *,
        current: int | None = None,
        total: int | None = None,
        step: str | None = None,
        step_done: str | None = None,
        message: str | None = None,
        counters: dict[str, float] | None = None,
        force: bool = False,
    ) -> None:
        """Update progress; written at most every `min_interval_s` unless a step changes.

        Raises `errors.Cancelled` once cancellation was requested.
        """
        progress = self.progress
        step_changed = (step is not None and step != progress.current_step) or step_done is not None
        if current is not None:
            progress.current = current
        if total is not None:
            progress.total = total
        if step is not None:
            progress.current_step = step
        if step_done is not None and step_done not in progress.steps_completed:
            progress.steps_completed.append(step_done)
        if counters:
            progress.counters.update(counters)
        if progress.total > 0:
            progress.percentage = round(min(100.0, 100.0 * progress.current / progress.total), 2)
            progress.estimated_remaining_s = self._eta(progress)
        now = time.monotonic()
        if force or step_changed or now - self._last_write >= self._min_interval_s:
            self._last_write = now
            if await self._store.report(self.job_id, progress, message):
                self.cancel_requested = True
        if self.cancel_requested:
            raise errors.Cancelled(f"Job {self.job_id} was cancelled")

    def _eta(self, progress: JobProgress) -> float | None:
        done = progress.current - self._start_count
        if done <= 0:
            return None
        elapsed = time.monotonic() - self._started
        return round(elapsed / done * (progress.total - progress.current), 1)


class JobRunner:
    """Starts, tracks, cancels and recovers the jobs of one service process."""

    def __init__(
        self,
        store: JobStore,
        *,
        resume_handlers: dict[str, JobWork] | None = None,
        heartbeat_s: float = 5.0,
        stale_after_s: float = 30.0,
    ) -> None:
        self.store = store
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._resume_handlers = resume_handlers or {}
        self._heartbeat_s = heartbeat_s
        self._stale_after_s = stale_after_s
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._unstarted_cancel_handlers: dict[str, UnstartedCancelHandler] = {}
        self._maintenance: asyncio.Task[None] | None = None

    def add_resume_handler(self, job_type: str, work: JobWork) -> None:
        """Resume interrupted jobs of `job_type` with `work` (its steps must be idempotent).
        Register before `start()`, which sweeps at once."""
        self._resume_handlers[job_type] = work

    def add_unstarted_cancel_handler(self, job_type: str, handler: UnstartedCancelHandler) -> None:
        """Run `handler(record)` when a job of `job_type` is cancelled before its work
        started: what `submit`'s caller prepared for it (a box to fill, say) would
        otherwise stay, since its work, and the work's own cleanup, never runs. It may
        run twice for one job (here, and where the job was submitted): make it idempotent."""
        self._unstarted_cancel_handlers[job_type] = handler

    async def _cancelled_unstarted(self, job: JobRecord) -> None:
        handler = self._unstarted_cancel_handlers.get(job.type)
        if handler is not None and job.status is JobStatus.CANCELLED and job.started_at is None:
            await asyncio.shield(handler(job))

    async def start(self) -> None:
        """Begin heartbeats and the sweep for interrupted jobs."""
        await self.recover_interrupted()
        self._maintenance = asyncio.create_task(self._maintain())

    async def submit(
        self,
        job_type: str,
        work: JobWork,
        *,
        params: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None,
    ) -> JobRecord:
        """Record a pending job and start `work` for it."""
        job = await self.store.create(job_type, params, labels)
        self._launch(job, work, resume=False)
        return job

    async def cancel(self, job_id: str) -> JobRecord:
        """Request cancellation; a job running here stops at once."""
        job = await self.store.request_cancel(job_id)
        await self._cancelled_unstarted(job)
        task = self._tasks.get(job.id)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task}, timeout=5)
            job = await self.store.get(job_id)
        return job

    def _launch(self, job: JobRecord, work: JobWork, *, resume: bool) -> None:
        task = asyncio.create_task(self._run(job, work, resume=resume), name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))

    async def _run(self, job: JobRecord, work: JobWork, *, resume: bool) -> None:
        if not resume:
            started = await self.store.start(job.id, self.worker_id)
            if started is None:  # cancelled while pending
                await self._cancelled_unstarted(await self.store.get(job.id))
                return
            job = started
        context = JobContext(self.store, job)
        try:
            result = await work(context)
        except (asyncio.CancelledError, errors.Cancelled):
            outcome = self._stopped(job.id, context)
        except errors.ServiceError as error:
            outcome = self.store.finish(
                job.id,
                JobStatus.FAILED,
                message=error.message,
                error_code=error.code,
                error_message=error.message,
                progress=context.progress,
            )
        except Exception as error:
            error_id = uuid.uuid4().hex[:12]
            logger.error("job %s failed, error id=%s", job.id, error_id, exc_info=error)
            # The exception stays in the log: its text may name internals.
            reason = f"Unexpected error (error id {error_id})"
            outcome = self.store.finish(
                job.id,
                JobStatus.FAILED,
                message=reason,
                error_code=errors.PROCESSING_ERROR,
                error_message=reason,
                progress=context.progress,
            )
        else:
            outcome = self.store.finish(
                job.id,
                JobStatus.COMPLETED,
                message="Completed",
                result=result or {},
                progress=context.progress,
            )
        # Recorded even through a second cancel (the heartbeat sees the same request).
        await to_the_end(outcome)

    async def _stopped(self, job_id: str, context: JobContext) -> None:
        """Record work that stopped on a cancel: cancelled when one was asked for,
        else (the process is shutting down) left running, for recovery."""
        if context.cancel_requested or (await self.store.get(job_id)).cancel_requested:
            await self.store.finish(
                job_id, JobStatus.CANCELLED, message="Cancelled by user", progress=context.progress
            )
        else:
            logger.info("job %s interrupted by shutdown", job_id)

    async def recover_interrupted(self) -> None:
        """Resume or fail running jobs whose worker stopped reporting."""
        for job in await self.store.stale_running(self._stale_after_s):
            if job.id in self._tasks:
                continue
            handler = self._resume_handlers.get(job.type)
            if handler is not None and await self.store.claim(
                job.id, self.worker_id, job.worker_id
            ):
                logger.info("resuming interrupted job %s (%s)", job.id, job.type)
                self._launch(job, handler, resume=True)
            elif handler is None:
                await self.store.finish(
                    job.id,
                    JobStatus.FAILED,
                    message="Interrupted: the service stopped while the job was running",
                    error_code=errors.PROCESSING_ERROR,
                    error_message="Interrupted: the service stopped while the job was running",
                )

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                # A cancel asked through another process stops the work here within
                # a heartbeat, even while a long step makes no report.
                for job_id in await self.store.heartbeat(list(self._tasks)):
                    task = self._tasks.get(job_id)
                    if task is not None:
                        task.cancel()
                await self.recover_interrupted()
            except Exception:
                logger.exception("job maintenance failed; retrying")

    async def close(self) -> None:
        """Stop maintenance and local work; interrupted jobs are recovered on the next start."""
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
