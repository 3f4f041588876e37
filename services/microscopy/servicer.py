"""gRPC servicer of the microscopy service: translates protos to the domain core and back.

Every call that touches files (opening, decoding, encoding PNG, walking folders)
runs in the service's thread pool, never on the event loop.
"""

from __future__ import annotations

import json
import logging

import asyncpg
from grpc import aio

from common.jobs.rpc import JobsServicerMixin, job_to_proto
from common.jobs.runner import JobRunner
from common.workers import Workers
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from micrographia.microscopy.v1 import microscopy_pb2_grpc
from services.microscopy import messages
from services.microscopy.core import feature_catalogue
from services.microscopy.core.render import DEFAULT_HIGH_PERCENTILE, DEFAULT_LOW_PERCENTILE
from services.microscopy.core.workflow.config import config_schema
from services.microscopy.files import MicroscopyFiles
from services.microscopy.outputs import WorkflowOutputs
from services.microscopy.recent import RecentFiles
from services.microscopy.shared_memory import SharedMemoryTargets
from services.microscopy.workflows import Workflows

logger = logging.getLogger("micrographia.microscopy")


class MicroscopyServicer(JobsServicerMixin, microscopy_pb2_grpc.MicroscopyServiceServicer):
    """Files, frames, the explorer and recent files; job RPCs from the mixin.

    Workflow RPCs translate to `Workflows` (services/microscopy/workflows.py).
    `recent` is None when recent-file tracking is off.
    """

    service_name = "microscopy"

    def __init__(
        self,
        jobs: JobRunner,
        files: MicroscopyFiles,
        workers: Workers,
        recent: RecentFiles | None,
        workflows: Workflows,
        shared_memory: SharedMemoryTargets | None = None,
    ) -> None:
        self.jobs = jobs
        self._workflows = workflows
        self._outputs = WorkflowOutputs(workflows)
        self._shared_memory = shared_memory or SharedMemoryTargets()
        self._files = files
        self._workers = workers
        self._recent = recent
        self._features = messages.features_message(feature_catalogue())
        self._config_schema = pb.GetProcessingConfigSchemaResponse(
            json_schema=json.dumps(config_schema())
        )

    # ------------------------------------------------------------ metadata and frames

    async def LoadMetadata(self, request: pb.LoadMetadataRequest, context: aio.ServicerContext):
        metadata = await self._workers.run(self._files.metadata, request.file_path)
        if self._recent is not None:
            try:
                await self._recent.record(metadata)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                # The metadata was read: a database hiccup costs the history, not the answer.
                logger.warning("could not record %s as recent", metadata.file_path, exc_info=True)
        return pb.LoadMetadataResponse(metadata=messages.metadata_message(metadata))

    async def ListFeatures(self, request: pb.ListFeaturesRequest, context: aio.ServicerContext):
        return self._features

    async def ReadFrame(self, request: pb.ReadFrameRequest, context: aio.ServicerContext):
        """Pixels in the answer, or, for a client on this machine that names a
        shared-memory target, written there (no copy through the socket)."""
        return await self._workers.run(self._read_frame, request)

    def _read_frame(self, request: pb.ReadFrameRequest) -> pb.ReadFrameResponse:
        address = request.frame
        frame = self._files.read_frame(
            address.file_path, address.fov, address.t, address.channel, address.z
        )
        if request.HasField("shared_memory"):
            target = request.shared_memory
            self._shared_memory.write(target.name, target.offset, target.size, frame)
            return pb.ReadFrameResponse(
                dtype=frame.dtype.name, shape=frame.shape, in_shared_memory=True
            )
        return pb.ReadFrameResponse(data=frame.tobytes(), dtype=frame.dtype.name, shape=frame.shape)

    async def RenderFrame(self, request: pb.RenderFrameRequest, context: aio.ServicerContext):
        address = request.frame
        low = (
            request.low_percentile if request.HasField("low_percentile") else DEFAULT_LOW_PERCENTILE
        )
        high = (
            request.high_percentile
            if request.HasField("high_percentile")
            else DEFAULT_HIGH_PERCENTILE
        )
        if request.overlay_job_id:
            rendered = await self._workflows.render_overlay(
                request.overlay_job_id, address, low, high, request.max_size
            )
        else:
            rendered = await self._workers.run(
                self._files.render_frame,
                address.file_path,
                address.fov,
                address.t,
                address.channel,
                address.z,
                low_percentile=low,
                high_percentile=high,
                max_size=request.max_size,
            )
        return pb.RenderFrameResponse(**rendered._asdict())

    # ------------------------------------------------------------ file explorer

    async def ListDirectory(self, request: pb.ListDirectoryRequest, context: aio.ServicerContext):
        listing = await self._workers.run(
            self._files.explorer.list_directory,
            request.directory_path,
            include_hidden=request.include_hidden,
            filter_extensions=list(request.filter_extensions),
            sort_by=messages.sort_key(request.sort_by),
            sort_order=messages.sort_order(request.sort_order),
        )
        return messages.listing_message(listing)

    async def SearchFiles(self, request: pb.SearchFilesRequest, context: aio.ServicerContext):
        result = await self._workers.run(
            self._files.explorer.search_files,
            request.search_path,
            pattern=request.pattern,
            extensions=list(request.extensions),
            max_depth=request.max_depth if request.HasField("max_depth") else None,
            include_hidden=request.include_hidden,
            case_sensitive=request.case_sensitive,
            limit=request.limit,
        )
        return messages.search_message(result)

    async def GetFileInfo(self, request: pb.GetFileInfoRequest, context: aio.ServicerContext):
        info = await self._workers.run(self._files.explorer.file_info, request.file_path)
        return messages.file_info_message(info)

    async def ListRecentFiles(
        self, request: pb.ListRecentFilesRequest, context: aio.ServicerContext
    ):
        if self._recent is None:
            return pb.ListRecentFilesResponse(tracked=False)
        recent = await self._recent.newest(request.limit, request.extensions)
        return pb.ListRecentFilesResponse(
            recent_files=[messages.recent_message(item) for item in recent], tracked=True
        )

    # ------------------------------------------------------------ workflow

    async def GetProcessingConfigSchema(
        self, request: pb.GetProcessingConfigSchemaRequest, context: aio.ServicerContext
    ):
        return self._config_schema

    async def StartWorkflow(self, request: pb.StartWorkflowRequest, context: aio.ServicerContext):
        if request.simulate:
            job, estimate = await self._workflows.start_simulation()
            message = "Simulated workflow started (60 s)"
        else:
            config = messages.workflow_config(request)
            plan = await self._workers.run(self._workflows.plan, config)
            job, estimate = await self._workflows.start(plan)
            message = "Workflow started successfully"
        return pb.StartWorkflowResponse(
            job_id=job.id,
            message=message,
            estimated_duration_s=estimate,
            job=job_to_proto(job, self.service_name),
        )

    async def GetWorkflowResults(
        self, request: pb.GetWorkflowResultsRequest, context: aio.ServicerContext
    ):
        job = await self._workflows.finished_job(request.job_id)
        return messages.workflow_results_message(job.id, job.result or {})

    async def MergeResults(self, request: pb.MergeResultsRequest, context: aio.ServicerContext):
        summary = await self._workers.run(
            self._workflows.merge, request.sample_yaml, request.input_dir, request.output_dir
        )
        return messages.merge_message(summary)

    # ------------------------------------------------------------ cells, marks, samples

    async def ListCells(self, request: pb.ListCellsRequest, context: aio.ServicerContext):
        path, page = await self._outputs.list_cells(
            request.traces_path,
            sort_by=request.sort_by,
            descending=request.descending,
            offset=request.offset,
            limit=request.limit or 100,
            good=request.good if request.HasField("good") else None,
        )
        return messages.cell_page_message(str(path), page)

    async def GetCell(self, request: pb.GetCellRequest, context: aio.ServicerContext):
        path, trace = await self._outputs.cell(request.traces_path, request.fov, request.cell)
        return pb.GetCellResponse(
            traces_path=str(path),
            cell=messages.cell_message(trace.summary),
            series=[pb.TraceSeries(name=k, values=v) for k, v in trace.series.items()],
        )

    async def SetCellQuality(self, request: pb.SetCellQualityRequest, context: aio.ServicerContext):
        marks = [(mark.fov, mark.cell, mark.good) for mark in request.cells]
        rule = messages.quality_rule(request.rule) if request.HasField("rule") else None
        path, change = await self._outputs.set_quality(request.traces_path, marks, rule)
        return messages.quality_message(str(path), change)

    async def RenderCellStrip(
        self, request: pb.RenderCellStripRequest, context: aio.ServicerContext
    ):
        png, frames = await self._outputs.cell_strip(
            request.traces_path,
            request.fov,
            request.cell,
            request.channel,
            request.n_crops or 8,
            request.crop_size or 96,
        )
        return pb.RenderCellStripResponse(png=png, frames=frames)

    async def RenderCellsFrame(
        self, request: pb.RenderCellsFrameRequest, context: aio.ServicerContext
    ):
        rendered, (n_frames, height, width) = await self._outputs.cells_frame(
            request.traces_path, request.t, request.channel, request.max_size
        )
        return pb.RenderCellsFrameResponse(
            frame=pb.RenderFrameResponse(**rendered._asdict()),
            n_frames=n_frames,
            frame_height=height,
            frame_width=width,
        )

    async def FindCell(self, request: pb.FindCellRequest, context: aio.ServicerContext):
        fov, cell = await self._outputs.find_cell(
            request.traces_path, request.t, request.x, request.y
        )
        if cell is None:
            return pb.FindCellResponse(found=False, fov=fov)
        return pb.FindCellResponse(found=True, fov=fov, cell=cell)

    async def GetSamples(self, request: pb.GetSamplesRequest, context: aio.ServicerContext):
        path, samples, fovs = await self._workers.run(
            self._outputs.get_samples, request.sample_yaml, request.input_dir
        )
        return pb.GetSamplesResponse(
            sample_yaml=path, samples=messages.samples_message(samples), available_fovs=fovs
        )

    async def SaveSamples(self, request: pb.SaveSamplesRequest, context: aio.ServicerContext):
        entries = [{"name": sample.name, "fovs": sample.fovs} for sample in request.samples]
        path, samples, merged = await self._workers.run(
            self._outputs.save_samples,
            request.sample_yaml,
            entries,
            request.input_dir,
            request.merge_output_dir,
        )
        response = pb.SaveSamplesResponse(
            sample_yaml=path, samples=messages.samples_message(samples)
        )
        if merged is not None:
            response.merge.CopyFrom(messages.merge_message(merged))
        return response
