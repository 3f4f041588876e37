"""One workflow run: every FOV of a plan through `run_fov` on an executor.

The run writes processing_config.yaml first, submits FOVs (at most
n_workers x batch_size in flight), follows their progress files, and writes the
results index at the end. Cancelling (an exception from `report`, or the task
being cancelled) raises the stop flag: every worker stops within one frame, and
the run waits for them before it ends, so nothing keeps writing after a job
says it stopped. A re-run of the same plan resumes: `run_fov` skips finished steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from common.errors import ProcessingError, ServiceError
from services.microscopy.core.workflow.config import WorkflowPlan, config_yaml, write_atomically
from services.microscopy.core.workflow.control import (
    ProgressFile,
    StopFlag,
    control_dir,
    read_progress,
)
from services.microscopy.core.workflow.pipeline import (
    STEPS,
    Cancelled,
    ChannelSpec,
    FovResult,
    FovTask,
    FrameSegmenter,
    PipelineParams,
    run_fov,
)
from services.microscopy.core.workflow.results import results_index_path, write_results_index

logger = logging.getLogger("micrographia.workflow")

_POLL_S = 0.25
# How long a cancelled run waits for its workers to notice the flag (one frame each).
_STOP_WAIT_S = 60.0


@dataclass
class WorkflowProgress:
    """Where a run stands: FOVs finished, and the step of the FOV being worked on."""

    fovs_done: int
    total_fovs: int
    current_fov: int | None = None
    current_step: str = ""
    steps_completed: list[str] = field(default_factory=list)
    frames_done: int = 0
    frames_total: int = 0
    waiting: str = ""  # the service the current FOV waits for, during an outage

    @property
    def message(self) -> str:
        if self.waiting and self.current_fov is not None:
            return (
                f"Waiting for the {self.waiting} service (FOV {self.current_fov}, "
                f"{self.fovs_done}/{self.total_fovs} FOVs done)"
            )
        if self.current_fov is None:
            return f"Finished {self.fovs_done}/{self.total_fovs} FOVs"
        if not self.current_step:
            return f"Starting FOV {self.current_fov} ({self.fovs_done}/{self.total_fovs} FOVs done)"
        return (
            f"{self.current_step.capitalize()} FOV {self.current_fov} "
            f"({self.fovs_done}/{self.total_fovs} FOVs done)"
        )


Report = Callable[[WorkflowProgress], Awaitable[None]]


def pipeline_params(plan: WorkflowPlan) -> PipelineParams:
    """The science settings of the plan, by name; those the configuration does not offer
    keep the pipeline's defaults."""
    parameters = plan.config.parameters
    offered = type(parameters).model_fields
    names = [item.name for item in fields(PipelineParams) if item.name in offered]
    return PipelineParams(**{name: getattr(parameters, name) for name in names})


def fov_tasks(plan: WorkflowPlan, segmenter: FrameSegmenter | None = None) -> list[FovTask]:
    channels = plan.config.channels
    phase = ChannelSpec(channels.phase.channel, tuple(channels.phase.features))
    fluorescence = tuple(
        ChannelSpec(selection.channel, tuple(selection.features))
        for selection in sorted(channels.fluorescence, key=lambda item: item.channel)
    )
    params = pipeline_params(plan)
    return [
        FovTask(
            microscopy_path=str(plan.microscopy_path),
            fov=fov,
            output_dir=str(plan.output_dir),
            phase=phase,
            fluorescence=fluorescence,
            params=params,
            segmenter=segmenter,
        )
        for fov in plan.fovs
    ]


def run_one_fov(task: FovTask, on_progress: ProgressFile, should_stop: StopFlag) -> FovResult:
    """`run_fov` on a worker, its failures made to travel: an exception of a C extension
    may not unpickle in the job's process, so it comes back as a ProcessingError
    naming the FOV and the cause."""
    try:
        return run_fov(task, on_progress, should_stop)
    except (Cancelled, ServiceError):
        raise
    except Exception as error:
        raise ProcessingError(
            f"FOV {task.fov} failed: {type(error).__name__}: {error}", fov=task.fov
        ) from None


def write_config_file(plan: WorkflowPlan) -> Path:
    write_atomically(plan.config_file, config_yaml(plan))
    return plan.config_file


@dataclass(frozen=True)
class WorkflowSummary:
    """What a finished run hands to its job record and GetWorkflowResults."""

    output_dir: str
    config_file: str
    results_index: str
    traces: list[str]
    total_cells: int
    total_frames: int
    processing_time_s: float
    fovs: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def run_workflow(
    plan: WorkflowPlan,
    job_id: str,
    executor: Executor,
    report: Report,
    *,
    local_pool: bool = True,
    segmenter: FrameSegmenter | None = None,
) -> WorkflowSummary:
    """Run every FOV of `plan` on `executor`; `report` is awaited as progress changes.

    `local_pool`: the workers are child processes of this one (they stop when it dies).
    `segmenter`: where learned segmentation methods run (the inference service).
    """
    started = time.monotonic()
    folder = control_dir(plan.output_dir, job_id)
    stop = StopFlag(folder, os.getpid() if local_pool else None)
    # File work off the event loop; a flag left by an earlier stop of this job is old news.
    await asyncio.to_thread(_prepare, plan, folder, stop)
    tasks = fov_tasks(plan, segmenter)
    limit = max(1, plan.config.parameters.n_workers * plan.config.parameters.batch_size)
    waiting = list(tasks)
    running: dict[asyncio.Future[FovResult], FovTask] = {}
    submitted: list[Future[FovResult]] = []
    results: dict[int, FovResult] = {}
    progress = WorkflowProgress(0, len(tasks))
    try:
        await report(progress)
        while waiting or running:
            while waiting and len(running) < limit:
                task = waiting.pop(0)
                future = executor.submit(run_one_fov, task, ProgressFile(folder, task.fov), stop)
                submitted.append(future)
                running[asyncio.wrap_future(future)] = task
            finished, _ = await asyncio.wait(
                running, timeout=_POLL_S, return_when=asyncio.FIRST_COMPLETED
            )
            for future in finished:
                task = running.pop(future)
                results[task.fov] = future.result()  # a failed FOV fails the run
            active = [task.fov for task in running.values()]
            progress = await asyncio.to_thread(_progress, folder, len(tasks), results, active)
            await report(progress)
    except BaseException:
        stop.raise_flag()
        for future in submitted:
            future.cancel()  # those not started yet
        await _wait_stopped(running)
        raise
    summary = _summary(plan, [results[fov] for fov in plan.fovs], time.monotonic() - started)
    await asyncio.to_thread(write_results_index, plan, summary.to_json())
    return summary


def _prepare(plan: WorkflowPlan, folder: Path, stop: StopFlag) -> None:
    write_config_file(plan)
    folder.mkdir(parents=True, exist_ok=True)
    stop.lower_flag()


async def _wait_stopped(running: dict[asyncio.Future[FovResult], FovTask]) -> None:
    """Wait (shielded from a second cancel) until started FOVs noticed the stop flag."""
    if not running:
        return
    waiter = asyncio.ensure_future(asyncio.wait(running, timeout=_STOP_WAIT_S))
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(waiter)
    for future in running:
        if future.done() and not future.cancelled():
            future.exception()  # retrieved: a stopped FOV's Cancelled is expected


def _progress(
    folder: Path, total: int, results: dict[int, FovResult], running: list[int]
) -> WorkflowProgress:
    """The run's progress: FOVs finished, and the lowest FOV still being worked on."""
    progress = WorkflowProgress(len(results), total)
    active = sorted(running)
    reports = [read_progress(folder, fov) for fov in active]
    reports = [item for item in reports if item is not None]
    if reports:
        # The FOV waiting for a service, if any: that is what holds the run up.
        current = next((item for item in reports if item.waiting), reports[0])
        progress.current_fov = current.fov
        progress.current_step = current.step
        if current.step in STEPS:
            progress.steps_completed = list(STEPS[: STEPS.index(current.step)])
        progress.frames_done, progress.frames_total = current.done, current.total
        progress.waiting = current.waiting
    elif active:
        progress.current_fov = active[0]
    return progress


def _summary(plan: WorkflowPlan, results: list[FovResult], elapsed: float) -> WorkflowSummary:
    return WorkflowSummary(
        output_dir=str(plan.output_dir),
        config_file=str(plan.config_file),
        results_index=str(results_index_path(plan.output_dir)),
        traces=[result.traces_csv for result in results],
        total_cells=sum(result.n_good_cells for result in results),
        total_frames=sum(result.n_frames for result in results),
        processing_time_s=round(elapsed, 3),
        fovs=[asdict(result) for result in results],
    )
