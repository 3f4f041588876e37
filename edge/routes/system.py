"""GET /livez, GET /health, GET /metrics, GET /jobs; and /api/health,
/api/metrics, /api/jobs, their twins under the PyAMA spec's `/api` base.

None of them waits on a hung backend beyond a short deadline of its own.
"""

from __future__ import annotations

import asyncio
import os
import platform as host_platform
import time
from datetime import UTC, datetime
from typing import Any

import psutil
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from common import __version__
from common.public_text import public_text
from edge.backends import BackendHealth, Backends
from edge.dependencies import BackendsDep
from edge.envelope import Envelope, ok
from edge.errors import BackendError
from edge.protojson import timestamp_to_json
from edge.security import has_valid_key
from micrographia.common.v1 import common_pb2

router = APIRouter(tags=["system"])

# Services that own jobs, and what their jobs are called in /jobs.
JOB_SERVICES = ("microscopy", "analysis", "spatial")
ACTIVE = [common_pb2.JOB_STATUS_PENDING, common_pb2.JOB_STATUS_RUNNING]
_STATUS_NAMES = {
    common_pb2.JOB_STATUS_PENDING: "pending",
    common_pb2.JOB_STATUS_RUNNING: "running",
    common_pb2.JOB_STATUS_COMPLETED: "completed",
    common_pb2.JOB_STATUS_FAILED: "failed",
    common_pb2.JOB_STATUS_CANCELLED: "cancelled",
}


# ---------------------------------------------------------------- bodies


class Liveness(BaseModel):
    status: str = "alive"


class SystemInfo(BaseModel):
    python_version: str
    platform: str
    cpu_count: int | None
    memory_gb: float


class BackendState(BaseModel):
    status: str  # "serving", "not_serving", "down"
    address: str | None = Field(
        None,
        description="Internal address; left out when API keys are configured and "
        "the request carries no valid one",
    )
    latency_ms: float | None
    error: str | None


class Health(BaseModel):
    status: str  # "healthy" or "degraded"
    service: str
    version: str
    uptime: int
    active_jobs: int | None
    system_info: SystemInfo
    backends: dict[str, BackendState]


class CpuMetrics(BaseModel):
    usage_percent: float
    load_average: list[float]


class MemoryMetrics(BaseModel):
    total_gb: float
    used_gb: float
    available_gb: float
    usage_percent: float


class JobMetrics(BaseModel):
    active: int
    completed_today: int
    failed_today: int
    queue_length: int
    unavailable_services: list[str]


class Metrics(BaseModel):
    timestamp: str
    cpu: CpuMetrics
    memory: MemoryMetrics
    jobs: JobMetrics


class ActiveJob(BaseModel):
    job_id: str
    type: str
    service: str
    status: str
    progress: float
    message: str
    started_at: str | None


class ActiveJobs(BaseModel):
    active_jobs: list[ActiveJob]
    total_active: int
    unavailable_services: list[str]


# ---------------------------------------------------------------- routes


async def active_jobs(
    backends: Backends, timeout_s: float
) -> tuple[list[common_pb2.ListJobsResponse], list[str]]:
    """Each job service's active jobs and counts, each asked with `timeout_s`;
    and the services that did not answer in time."""

    async def one(name: str) -> common_pb2.ListJobsResponse | None:
        backend = backends[name]
        request = common_pb2.ListJobsRequest(statuses=ACTIVE)
        try:
            return await backend.unary(backend.stub.ListJobs, request, timeout=timeout_s)
        except BackendError:
            return None

    answers = await asyncio.gather(*(one(name) for name in JOB_SERVICES))
    missing = [name for name, answer in zip(JOB_SERVICES, answers, strict=True) if answer is None]
    return [answer for answer in answers if answer is not None], missing


@router.get(
    "/livez", summary="Liveness of the edge itself (calls no backend)", response_model=Liveness
)
async def livez() -> dict[str, str]:
    return {"status": "alive"}


def backend_state(check: BackendHealth, operator: bool) -> dict[str, Any]:
    """A backend's health; its address and gRPC's own words only for an operator
    (anyone may probe /health; with API keys set, an operator shows a valid key)."""
    if operator:
        return {
            "status": check.status,
            "address": check.address,
            "latency_ms": check.latency_ms,
            "error": check.error,
        }
    error = None if check.error is None else public_text(check.error)
    return {"status": check.status, "latency_ms": check.latency_ms, "error": error}


@router.get(
    "/health",
    summary="Health of the edge and of every backend service",
    response_model=Health,
    response_model_exclude_unset=True,
)
@router.get(
    "/api/health",
    summary="Health of the edge and of every backend service (as /health)",
    response_model=Health,
    response_model_exclude_unset=True,
)
async def health(request: Request, backends: BackendsDep) -> dict[str, Any]:
    checks, (job_lists, _) = await asyncio.gather(
        backends.check_all(), active_jobs(backends, backends.settings.health_timeout_s)
    )
    all_serving = all(check.status == "serving" for check in checks)
    memory = psutil.virtual_memory()
    return {
        "status": "healthy" if all_serving else "degraded",
        "service": "Micrographia",
        "version": __version__,
        "uptime": round(time.monotonic() - request.app.state.started_at),
        "active_jobs": sum(len(answer.jobs) for answer in job_lists) if job_lists else None,
        "system_info": {
            "python_version": host_platform.python_version(),
            "platform": host_platform.system(),
            "cpu_count": os.cpu_count(),
            "memory_gb": round(memory.total / 2**30, 1),
        },
        "backends": {check.name: backend_state(check, has_valid_key(request)) for check in checks},
    }


@router.get("/metrics", summary="System and job metrics", response_model=Metrics)
@router.get("/api/metrics", summary="System and job metrics (as /metrics)", response_model=Metrics)
async def metrics(backends: BackendsDep) -> dict[str, Any]:
    job_lists, missing = await active_jobs(backends, backends.settings.fanout_timeout_s)
    memory = psutil.virtual_memory()
    counts = [answer.counts for answer in job_lists]
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpu": {
            # Over a short window, so the call stays fast.
            "usage_percent": await asyncio.to_thread(psutil.cpu_percent, 0.1),
            "load_average": [round(value, 2) for value in os.getloadavg()],
        },
        "memory": {
            "total_gb": round(memory.total / 2**30, 2),
            "used_gb": round((memory.total - memory.available) / 2**30, 2),
            "available_gb": round(memory.available / 2**30, 2),
            "usage_percent": memory.percent,
        },
        "jobs": {
            "active": sum(c.pending + c.running for c in counts),
            "completed_today": sum(c.completed_today for c in counts),
            "failed_today": sum(c.failed_today for c in counts),
            "queue_length": sum(c.pending for c in counts),
            "unavailable_services": missing,
        },
    }


@router.get(
    "/jobs",
    summary="Jobs pending or running in any service",
    response_model=Envelope[ActiveJobs],
    response_model_exclude_unset=True,
)
@router.get(
    "/api/jobs",
    summary="Jobs pending or running in any service (as /jobs)",
    response_model=Envelope[ActiveJobs],
    response_model_exclude_unset=True,
)
async def jobs(backends: BackendsDep) -> dict[str, Any]:
    job_lists, missing = await active_jobs(backends, backends.settings.fanout_timeout_s)
    active = [
        {
            "job_id": job.id,
            "type": job.type,
            "service": job.service,
            "status": _STATUS_NAMES.get(job.status, "pending"),
            "progress": job.progress.percentage,
            "message": job.message,
            "started_at": timestamp_to_json(job.started_at) if job.HasField("started_at") else None,
        }
        for answer in job_lists
        for job in answer.jobs
    ]
    return ok({"active_jobs": active, "total_active": len(active), "unavailable_services": missing})
