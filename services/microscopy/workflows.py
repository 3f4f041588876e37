"""Processing workflows as durable jobs: validate, start, run, resume, report results.

Everything is checked before a job exists (`parse_config`, then `plan_workflow`
against the file and the data roots). The job record keeps the resolved plan, so
a restarted service resumes the run from its params (`run_fov` skips finished
steps). Per-FOV work runs on a process pool of `n_workers`, or on the Dask
cluster named by MICROGRAPHIA_DASK_SCHEDULER.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from common import errors
from common.executor import make_executor
from common.jobs import JobContext, JobRecord, JobRunner, JobStatus
from common.rpc_errors import RpcFailure
from common.workers import Workers
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from services.microscopy.cellpose_client import RemoteCellpose
from services.microscopy.core.render import RenderedFrame
from services.microscopy.core.workflow.config import (
    WorkflowPlan,
    parse_config,
    plan_from_json,
    plan_workflow,
)
from services.microscopy.core.workflow.merge import MergeSummary, merge_samples
from services.microscopy.core.workflow.overlay import read_labels, render_overlay
from services.microscopy.core.workflow.pipeline import REMOTE_METHODS, STEPS, fov_paths
from services.microscopy.core.workflow.runner import WorkflowProgress, fov_tasks, run_workflow
from services.microscopy.files import MicroscopyFiles

# What a FOV worker imports: the task function and the Cellpose client it may be given.
_POOL_MODULES = (run_workflow.__module__, RemoteCellpose.__module__)

logger = logging.getLogger("micrographia.microscopy.workflow")

WORKFLOW_JOB = "workflow"
SIMULATED_JOB = "workflow_simulation"
SIMULATED_SECONDS = 60
# A rough cost of one megapixel frame of one channel through all steps, for the
# estimate a start answers with: ~0.15 s on one worker of this 2-core machine
# (bench_workflow_memory, 512 px frames).
_SECONDS_PER_MEGAPIXEL_FRAME = 0.15
CELLPOSE_SETTING = "MICROGRAPHIA_CELLPOSE_WEIGHTS"
# How long a start waits for the inference service to say whether Cellpose can run.
_INFERENCE_CHECK_S = 10.0


class Workflows:
    """Starts and runs workflow jobs on `jobs`; reads files through `files`."""

    def __init__(
        self,
        jobs: JobRunner,
        files: MicroscopyFiles,
        workers: Workers,
        dask_scheduler: str | None = None,
        *,
        inference_address: Callable[[], str] | None = None,
        inference: Callable[[], inference_pb2_grpc.InferenceServiceStub] | None = None,
        unavailable_retry_s: float = 300.0,
    ) -> None:
        self.jobs = jobs
        self.files = files
        self.workers = workers
        self.dask_scheduler = dask_scheduler or None
        # Learned segmentation methods run on the inference service: its address for
        # the FOV workers, its stub for the checks before a job exists.
        self.inference_address = inference_address
        self.inference = inference
        self.unavailable_retry_s = unavailable_retry_s
        jobs.add_resume_handler(WORKFLOW_JOB, self._work)

    @property
    def segmenter(self) -> RemoteCellpose | None:
        """The inference service as FOV workers reach it (the address read when used)."""
        if self.inference_address is None:
            return None
        return RemoteCellpose(
            self.inference_address(), unavailable_retry_s=self.unavailable_retry_s
        )

    # ------------------------------------------------------------ starting

    def plan(self, config: dict[str, Any]) -> WorkflowPlan:
        """Validate `config` (either form) against its file and the data roots. Blocking."""
        parsed = parse_config(config)
        metadata = self.files.metadata(parsed.microscopy_path)
        return plan_workflow(parsed, metadata, self.files.roots)

    async def start(self, plan: WorkflowPlan) -> tuple[JobRecord, float]:
        """A job running `plan`, and its estimated duration in seconds.

        Checked before a job exists (`check_output_dir`): no job writes into a folder
        another job writes to or holds the results of.
        """
        await self.check_segmentation(plan)
        await self.check_output_dir(plan)
        job = await self.jobs.submit(
            WORKFLOW_JOB,
            self._work,
            params={"plan": plan.to_json()},
            labels={
                "microscopy_path": str(plan.microscopy_path),
                "output_dir": str(plan.output_dir),
            },
        )
        return job, estimate_seconds(plan)

    async def check_output_dir(self, plan: WorkflowPlan) -> None:
        """ALREADY_EXISTS (409) while another job writes to `plan.output_dir` (two runs
        would write the same step files), or while it holds the results of a completed
        job whose record exists (a new run would overwrite them, and that job's results
        would silently become the new run's). A failed or cancelled job's leftovers may
        be replaced; so may a completed job's once its files (or its record) are gone.
        (A check, then a create: two starts in the same instant could both pass; the
        files' temporary names keep each whole.)
        """
        folder = {"output_dir": str(plan.output_dir)}
        writing, _ = await self.jobs.store.list(
            (JobStatus.PENDING, JobStatus.RUNNING), WORKFLOW_JOB, limit=1, labels=folder
        )
        if writing:
            other = writing[0]
            raise errors.AlreadyExists(
                f"job {other.id} is already writing to {plan.output_dir}; "
                "cancel it or choose another output_dir",
                job_id=other.id,
                output_dir=plan.output_dir,
            )
        completed, _ = await self.jobs.store.list(
            (JobStatus.COMPLETED,), WORKFLOW_JOB, limit=1, labels=folder
        )
        if completed and await self.workers.run(_holds_results, completed[0]):
            other = completed[0]
            raise errors.AlreadyExists(
                f"{plan.output_dir} holds the results of completed job {other.id}; "
                "choose another output_dir (or delete that folder first)",
                job_id=other.id,
                output_dir=plan.output_dir,
            )

    async def check_segmentation(self, plan: WorkflowPlan) -> None:
        """A learned method needs its model served: FAILED_PRECONDITION naming
        MICROGRAPHIA_CELLPOSE_WEIGHTS when it is not, UNAVAILABLE when the inference
        service does not answer; before any job exists."""
        parameters = plan.config.parameters
        method = parameters.segmentation_method
        if method not in REMOTE_METHODS:
            return
        if self.inference is None or self.segmenter is None:
            raise errors.FailedPrecondition(
                f"segmentation_method {method!r} needs the inference service; none is configured",
                setting="MICROGRAPHIA_INFERENCE_ADDRESS",
            )
        try:
            info = await self.inference().GetCellposeInfo(
                inference_pb2.GetCellposeInfoRequest(), timeout=_INFERENCE_CHECK_S
            )
        except grpc.RpcError as error:
            failure = RpcFailure.from_error(error)
            raise errors.Unavailable(
                f"segmentation_method {method!r} runs on the inference service, which did not "
                f"answer: {failure.message}",
                segmentation_method=method,
            ) from None
        setting = info.setting or CELLPOSE_SETTING
        if not info.available:
            raise errors.FailedPrecondition(
                f"segmentation_method {method!r} is unavailable: {info.error} "
                f"(set {setting} on the inference service to a checkpoint path, a Cellpose "
                "model name such as 'cpsam', or 'random')",
                setting=setting,
                segmentation_method=method,
            )
        wanted = parameters.cellpose.model if parameters.cellpose is not None else None
        if wanted and wanted != info.model:
            raise errors.FailedPrecondition(
                f"parameters.cellpose.model {wanted!r} is not served; the inference service "
                f"serves {info.model!r} ({setting}={info.weights})",
                setting=setting,
                field="parameters.cellpose.model",
            )

    async def start_simulation(self) -> tuple[JobRecord, float]:
        """The documented 60-second simulated task (MCP `fake`), for testing clients."""
        job = await self.jobs.submit(SIMULATED_JOB, _simulate, labels={"simulated": "true"})
        return job, float(SIMULATED_SECONDS)

    # ------------------------------------------------------------ running

    async def _work(self, context: JobContext) -> dict[str, Any]:
        """Run (or resume) the job's plan; its result is what GetWorkflowResults returns."""
        data = context.params["plan"]
        metadata = await self.workers.run(self.files.metadata, data["microscopy_path"])
        plan = plan_from_json(data, metadata)
        n_workers = plan.config.parameters.n_workers
        executor = await self.workers.run(
            make_executor, n_workers, self.dask_scheduler, _POOL_MODULES
        )

        async def report(progress: WorkflowProgress) -> None:
            context.progress.steps_completed = list(progress.steps_completed)
            await context.report(
                current=progress.fovs_done,
                total=progress.total_fovs,
                step=progress.current_step or None,
                message=progress.message,
                counters={
                    "current_fov_index": float(
                        progress.current_fov if progress.current_fov is not None else -1
                    ),
                    "frames_done": float(progress.frames_done),
                    "frames_total": float(progress.frames_total),
                },
            )

        try:
            summary = await run_workflow(
                plan,
                context.job_id,
                executor,
                report,
                local_pool=self.dask_scheduler is None,
                segmenter=self.segmenter,
            )
        finally:
            # Not waiting here: stopped workers were already waited for by the run.
            await self.workers.run(executor.shutdown, wait=False, cancel_futures=True)
        context.progress.steps_completed = list(STEPS)
        await context.report(current=len(plan.fovs), message="Completed", force=True)
        return {
            "output_dir": summary.output_dir,
            "config_file": summary.config_file,
            "results_index": summary.results_index,
            "traces": summary.traces,
            "stats": {
                "total_cells": summary.total_cells,
                "total_frames": summary.total_frames,
                "processing_time_s": summary.processing_time_s,
            },
        }

    # ------------------------------------------------------------ results, merge, pictures

    async def finished_job(self, job_id: str) -> JobRecord:
        """A completed workflow job; FAILED_PRECONDITION (400) while it is not."""
        job = await self.jobs.store.get(job_id)
        if job.type != WORKFLOW_JOB:
            raise errors.NotFound(
                f"Job {job_id} is not a processing workflow", code=errors.JOB_NOT_FOUND
            )
        if job.status is not JobStatus.COMPLETED or job.result is None:
            raise errors.FailedPrecondition(
                f"Job {job_id} is {job.status.value}; results exist once it has completed",
                code=errors.INVALID_PARAMETERS,
                status=job.status.value,
            )
        if "stats" not in job.result:  # completed, but recorded no workflow results
            raise errors.FailedPrecondition(
                f"Job {job_id} completed without a record of its results",
                code=errors.INVALID_PARAMETERS,
                status=job.status.value,
            )
        return job

    def merge(self, sample_yaml: str, input_dir: str, output_dir: str) -> MergeSummary:
        """Merge per-FOV traces into samples, every path inside the data roots. Blocking."""
        for name, value in (
            ("sample_yaml", sample_yaml),
            ("input_dir", input_dir),
            ("output_dir", output_dir),
        ):
            if not value:
                raise errors.InvalidArgument(f"{name} is required", field=name)
        roots = self.files.roots
        return merge_samples(
            roots.resolve(sample_yaml),
            roots.resolve(input_dir),
            roots.resolve(output_dir, must_exist=False),
        )

    async def render_overlay(
        self, job_id: str, address: Any, low: float, high: float, max_size: int
    ) -> RenderedFrame:
        """Frame `address` with job `job_id`'s outlines and track ids drawn over it."""
        job = await self.finished_job(job_id)
        data = job.params["plan"]
        metadata = await self.workers.run(self.files.metadata, data["microscopy_path"])
        plan = plan_from_json(data, metadata)
        file_path = address.file_path or str(plan.microscopy_path)
        if self.files.roots.resolve(file_path) != plan.microscopy_path:
            raise errors.InvalidArgument(
                f"job {job_id} processed {plan.microscopy_path}, not {file_path}",
                field="file_path",
            )
        tasks = {task.fov: task for task in fov_tasks(plan)}
        if address.fov not in tasks:
            raise errors.InvalidArgument(
                f"job {job_id} did not process FOV {address.fov}", field="fov"
            )
        labels_path = fov_paths(tasks[address.fov]).labels

        def render() -> RenderedFrame:
            frame = self.files.read_frame(
                file_path, address.fov, address.t, address.channel, address.z
            )
            labels = read_labels(labels_path, address.t)
            return render_overlay(frame, labels, low, high, max_size)

        return await self.workers.run(render)


def _holds_results(job: JobRecord) -> bool:
    """Whether a completed workflow job's results are still in its folder. Blocking."""
    result = job.result or {}
    return any(
        Path(result[name]).is_file()
        for name in ("results_index", "config_file")
        if result.get(name)
    )


def estimate_seconds(plan: WorkflowPlan) -> float:
    """Seconds the plan should take on its workers (a rough, documented rate)."""
    height, width = plan.frame_shape
    channels = 1 + len(plan.config.channels.fluorescence)
    frames = len(plan.fovs) * plan.n_frames * channels
    seconds = frames * height * width / 1e6 * _SECONDS_PER_MEGAPIXEL_FRAME
    return round(max(1.0, seconds / plan.config.parameters.n_workers), 1)


async def _simulate(context: JobContext) -> dict[str, Any]:
    """One tick a second for 60 seconds, walking through the step names; cancellable."""
    for second in range(SIMULATED_SECONDS):
        step = STEPS[second * len(STEPS) // SIMULATED_SECONDS]
        context.progress.steps_completed = list(STEPS[: STEPS.index(step)])
        await context.report(
            current=second,
            total=SIMULATED_SECONDS,
            step=step,
            message=f"Simulated {step} ({second}/{SIMULATED_SECONDS} s)",
        )
        await asyncio.sleep(1)
    await context.report(current=SIMULATED_SECONDS, force=True)
    return {"simulated": True, "seconds": SIMULATED_SECONDS}
