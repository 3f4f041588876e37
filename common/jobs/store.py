"""Durable job records in PostgreSQL (the `jobs` table of a service's schema).

Every state change is one UPDATE guarded by the expected current state, so a
job can never go back from a terminal status, and two replicas can never both
start the same pending job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime, time
from typing import Any

import asyncpg

from common import errors
from common.jobs.model import JobCounts, JobProgress, JobRecord, JobStatus
from common.public_text import public_text

_COLUMNS = (
    "id, type, status, params, labels, progress, message, result, error_code, error_message, "
    "cancel_requested, created_at, started_at, updated_at, finished_at, worker_id"
)


def _record(row: asyncpg.Record) -> JobRecord:
    return JobRecord(
        id=str(row["id"]),
        type=row["type"],
        status=JobStatus(row["status"]),
        params=json.loads(row["params"]),
        labels=json.loads(row["labels"]),
        progress=JobProgress.from_json(json.loads(row["progress"])),
        message=row["message"],
        result=json.loads(row["result"]) if row["result"] is not None else None,
        error_code=row["error_code"],
        error_message=row["error_message"],
        cancel_requested=row["cancel_requested"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        worker_id=row["worker_id"],
    )


def _job_uuid(job_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(job_id))
    except ValueError:
        # Ids that cannot exist are simply not found (the documented JOB_NOT_FOUND).
        raise errors.NotFound(f"Job {job_id!r} not found", code=errors.JOB_NOT_FOUND) from None


class JobStore:
    """Job records of one service. `pool` must resolve `jobs` in the service's schema."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # Wakes local watchers at once; other replicas' changes are seen by polling.
        self._changed = asyncio.Condition()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def create(
        self,
        job_type: str,
        params: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None,
        message: str = "Job queued",
    ) -> JobRecord:
        row = await self._pool.fetchrow(
            f"""INSERT INTO jobs (id, type, status, params, labels, message)
                VALUES ($1, $2, 'pending', $3::jsonb, $4::jsonb, $5)
                RETURNING {_COLUMNS}""",
            uuid.uuid4(),
            job_type,
            json.dumps(params or {}),
            json.dumps(labels or {}),
            message,
        )
        await self._notify()
        return _record(row)

    async def get(self, job_id: str) -> JobRecord:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM jobs WHERE id = $1", _job_uuid(job_id)
        )
        if row is None:
            raise errors.NotFound(f"Job {job_id} not found", code=errors.JOB_NOT_FOUND)
        return _record(row)

    async def list(
        self,
        statuses: Iterable[JobStatus] = (),
        job_type: str | None = None,
        limit: int = 100,
        labels: Mapping[str, str] | None = None,
    ) -> tuple[list[JobRecord], int]:
        """Jobs newest first, and how many matched before `limit`. `labels`: only jobs
        whose labels include every one of these (jsonb containment)."""
        status_names = [status.value for status in statuses] or None
        wanted = json.dumps(dict(labels)) if labels else None
        where = (
            "($1::text[] IS NULL OR status = ANY($1)) AND ($2::text IS NULL OR type = $2)"
            " AND ($3::text IS NULL OR labels @> $3::jsonb)"
        )
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM jobs WHERE {where} ORDER BY created_at DESC LIMIT $4",
            status_names,
            job_type,
            wanted,
            limit,
        )
        total = await self._pool.fetchval(
            f"SELECT count(*) FROM jobs WHERE {where}", status_names, job_type, wanted
        )
        return [_record(row) for row in rows], total

    async def counts(self) -> JobCounts:
        midnight = datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)
        row = await self._pool.fetchrow(
            """SELECT
                 count(*) FILTER (WHERE status = 'pending') AS pending,
                 count(*) FILTER (WHERE status = 'running') AS running,
                 count(*) FILTER (WHERE status = 'completed' AND finished_at >= $1) AS completed,
                 count(*) FILTER (WHERE status = 'failed' AND finished_at >= $1) AS failed,
                 count(*) FILTER (WHERE status = 'cancelled' AND finished_at >= $1) AS cancelled
               FROM jobs""",
            midnight,
        )
        return JobCounts(
            row["pending"], row["running"], row["completed"], row["failed"], row["cancelled"]
        )

    async def start(self, job_id: str, worker_id: str) -> JobRecord | None:
        """pending -> running for `worker_id`; None when the job is no longer pending."""
        row = await self._pool.fetchrow(
            f"""UPDATE jobs SET status = 'running', worker_id = $2, started_at = now(),
                       heartbeat_at = now(), updated_at = now(), message = 'Job started'
                WHERE id = $1 AND status = 'pending' RETURNING {_COLUMNS}""",
            _job_uuid(job_id),
            worker_id,
        )
        await self._notify()
        return _record(row) if row else None

    async def report(self, job_id: str, progress: JobProgress, message: str | None = None) -> bool:
        """Record progress (and a heartbeat); returns True when cancellation was requested.
        The message is written in words a user may read (`public_text`)."""
        cancel = await self._pool.fetchval(
            """UPDATE jobs SET progress = $2::jsonb, message = coalesce($3, message),
                       heartbeat_at = now(), updated_at = now()
               WHERE id = $1 AND status = 'running' RETURNING cancel_requested""",
            _job_uuid(job_id),
            json.dumps(progress.to_json()),
            None if message is None else public_text(message),
        )
        await self._notify()
        return bool(cancel)

    async def heartbeat(self, job_ids: Iterable[str]) -> list[str]:
        """Mark running jobs alive; returns those whose cancellation was requested
        (perhaps through another process)."""
        ids = [_job_uuid(job_id) for job_id in job_ids]
        if not ids:
            return []
        rows = await self._pool.fetch(
            """UPDATE jobs SET heartbeat_at = now() WHERE id = ANY($1) AND status = 'running'
               RETURNING id, cancel_requested""",
            ids,
        )
        return [str(row["id"]) for row in rows if row["cancel_requested"]]

    async def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        message: str,
        result: dict[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        progress: JobProgress | None = None,
    ) -> JobRecord | None:
        """Move an active job to a terminal status; None if it already ended.
        Its message and error are written in words a user may read (`public_text`)."""
        if not status.is_terminal:
            raise ValueError(f"{status} is not a terminal status")
        row = await self._pool.fetchrow(
            f"""UPDATE jobs SET status = $2, message = $3, result = $4::jsonb,
                       error_code = $5, error_message = $6,
                       progress = coalesce($7::jsonb, progress),
                       finished_at = now(), updated_at = now(), cancel_requested = false
                WHERE id = $1 AND status IN ('pending', 'running') RETURNING {_COLUMNS}""",
            _job_uuid(job_id),
            status.value,
            public_text(message),
            json.dumps(result) if result is not None else None,
            error_code,
            None if error_message is None else public_text(error_message),
            json.dumps(progress.to_json()) if progress is not None else None,
        )
        await self._notify()
        return _record(row) if row else None

    async def request_cancel(self, job_id: str) -> JobRecord:
        """A pending job is cancelled at once; a running one is flagged for its worker."""
        job = await self.get(job_id)
        if job.status.is_terminal:
            raise errors.FailedPrecondition(
                f"Job {job_id} has already {job.status.value}",
                code=errors.JOB_ALREADY_COMPLETED,
                status=job.status.value,
            )
        if job.status is JobStatus.PENDING:
            cancelled = await self.finish(
                job_id, JobStatus.CANCELLED, message="Cancelled before it started"
            )
            if cancelled is not None:
                return cancelled
        row = await self._pool.fetchrow(
            f"""UPDATE jobs SET cancel_requested = true, updated_at = now(),
                       message = 'Cancellation requested'
                WHERE id = $1 AND status = 'running' RETURNING {_COLUMNS}""",
            _job_uuid(job_id),
        )
        await self._notify()
        return _record(row) if row else await self.get(job_id)

    async def stale_running(self, stale_after_s: float) -> list[JobRecord]:
        """Running jobs whose worker has not reported for `stale_after_s` seconds."""
        rows = await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM jobs WHERE status = 'running'
                AND heartbeat_at < now() - make_interval(secs => $1)""",
            stale_after_s,
        )
        return [_record(row) for row in rows]

    async def claim(self, job_id: str, worker_id: str, previous_worker: str | None) -> bool:
        """Take over a stale running job (to resume it); False if another worker got it first."""
        claimed = await self._pool.fetchval(
            """UPDATE jobs SET worker_id = $2, heartbeat_at = now(), updated_at = now(),
                      message = 'Resumed after an interruption'
               WHERE id = $1 AND status = 'running' AND worker_id IS NOT DISTINCT FROM $3
               RETURNING true""",
            _job_uuid(job_id),
            worker_id,
            previous_worker,
        )
        return bool(claimed)

    async def watch(self, job_id: str, poll_s: float = 1.0) -> AsyncIterator[JobRecord]:
        """The job now, then again at every change, until it reaches a terminal status."""
        job = await self.get(job_id)
        yield job
        while not job.status.is_terminal:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=poll_s)
            latest = await self.get(job_id)
            if latest.updated_at != job.updated_at or latest.status != job.status:
                job = latest
                yield job
