"""Long work as durable jobs: records in PostgreSQL, a runner, and the job RPCs."""

from common.jobs.model import JobCounts, JobProgress, JobRecord, JobStatus
from common.jobs.runner import JobContext, JobRunner
from common.jobs.store import JobStore

__all__ = [
    "JobContext",
    "JobCounts",
    "JobProgress",
    "JobRecord",
    "JobRunner",
    "JobStatus",
    "JobStore",
]
