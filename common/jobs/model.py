"""Jobs as the domain sees them: plain dataclasses, no database, no gRPC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class JobProgress:
    current: int = 0
    total: int = 0
    percentage: float = 0.0
    current_step: str = ""
    steps_completed: list[str] = field(default_factory=list)
    estimated_remaining_s: float | None = None
    counters: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "total": self.total,
            "percentage": self.percentage,
            "current_step": self.current_step,
            "steps_completed": list(self.steps_completed),
            "estimated_remaining_s": self.estimated_remaining_s,
            "counters": dict(self.counters),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> JobProgress:
        data = data or {}
        return cls(
            current=int(data.get("current", 0)),
            total=int(data.get("total", 0)),
            percentage=float(data.get("percentage", 0.0)),
            current_step=str(data.get("current_step", "")),
            steps_completed=list(data.get("steps_completed", [])),
            estimated_remaining_s=data.get("estimated_remaining_s"),
            counters={k: float(v) for k, v in (data.get("counters") or {}).items()},
        )


@dataclass
class JobRecord:
    id: str
    type: str
    status: JobStatus
    params: dict[str, Any]
    labels: dict[str, str]
    progress: JobProgress
    message: str
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    updated_at: datetime
    finished_at: datetime | None
    worker_id: str | None = None


@dataclass
class JobCounts:
    pending: int = 0
    running: int = 0
    completed_today: int = 0
    failed_today: int = 0
    cancelled_today: int = 0
