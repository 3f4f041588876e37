"""The microscopy service as the edge speaks it: files and frames, the file explorer,
workflow jobs and merge (pyama-api.md, "Processing Endpoints" and "File Explorer
Endpoints"), and the workbench after a workflow: a trace CSV's cells, quality marks
and the samples YAML (issue 21).

Each method builds its RPC's request from the documented fields and returns the
documented answer (or the service's message, for pictures), once; the REST and SSE
routes (edge/routes/processing.py, edge/routes/cells.py) and the MCP tools
(edge/mcp_tools.py, edge/mcp_workbench.py) only adapt them to their transport. The
MCP input models derive from the request models here (`edge.fields.reworded`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from common.cellpose import CellposeOptions
from edge.clients.jobs import JobsClient
from edge.fields import Int32, Int64, RequestModel
from edge.jobs_json import JOB_STATUS, JobError, job_json, job_status
from edge.protojson import json_schema, to_json
from micrographia.common.v1 import common_pb2
from micrographia.microscopy.v1 import microscopy_pb2 as pb

# The microscopy service's job type of a workflow (its other jobs are not workflows).
WORKFLOW_JOB = "workflow"

# Requests: files and the explorer ----------------------------------------------------


class FilePathBody(RequestModel):
    file_path: str = Field(min_length=1, description="Path to a file inside the data roots")


class ListDirectoryBody(RequestModel):
    directory_path: str = Field(min_length=1)
    include_hidden: bool = False
    filter_extensions: list[str] | None = None
    sort_by: Literal["name", "size", "modified_time"] = "name"
    sort_order: Literal["asc", "desc"] = "asc"


class SearchFilesBody(RequestModel):
    search_path: str = Field(min_length=1)
    pattern: str = "**/*"
    extensions: list[str] | None = None
    max_depth: Int32 | None = Field(None, ge=0)
    include_hidden: bool = False
    case_sensitive: bool = False
    limit: Int32 = Field(0, ge=0, description="Stop after this many matches; 0: 10000")


_SORT_KEYS = {
    "name": pb.SORT_KEY_NAME,
    "size": pb.SORT_KEY_SIZE,
    "modified_time": pb.SORT_KEY_MODIFIED_TIME,
}
_SORT_ORDERS = {"asc": pb.SORT_ORDER_ASC, "desc": pb.SORT_ORDER_DESC}

# Requests: workflows and merge -------------------------------------------------------


class ChannelSelectionBody(RequestModel):
    channel: Int32 = Field(ge=0, description="Channel index (0-based)")
    features: list[str] = Field(default_factory=list, description="Feature ids")

    def message(self) -> pb.ChannelSelection:
        return pb.ChannelSelection(channel=self.channel, features=self.features)


class ChannelsBody(RequestModel):
    phase: ChannelSelectionBody | None = None
    fluorescence: list[ChannelSelectionBody] = Field(default_factory=list)

    def message(self) -> pb.Channels:
        channels = pb.Channels(fluorescence=[item.message() for item in self.fluorescence])
        if self.phase is not None:
            channels.phase.CopyFrom(self.phase.message())
        return channels


# The workflow's parameters, every one optional: an absent one takes the service's
# default (its config schema lists them: GET /config-schema, get_processing_config_schema).
# The one definition for REST and MCP (`ParamsInput` is this, in MCP's words).
class ParametersBody(RequestModel):
    fov_start: Int32 | None = Field(None, ge=0)
    fov_end: Int32 | None = Field(None, ge=0)
    batch_size: Int32 | None = Field(None, ge=1)
    n_workers: Int32 | None = Field(None, ge=1)
    background_weight: float | None = Field(None, ge=0.0, le=1.0)
    background_method: str | None = Field(
        None, description='Fluorescence background method ("pspline" or "reference")'
    )
    positions: str | None = None
    segmentation_method: str | None = Field(None, description='"logstd" or "cellpose"')
    cellpose: CellposeOptions | None = Field(
        None, description='Options of segmentation_method "cellpose"'
    )
    tracking_method: str | None = None
    min_frames: Int32 | None = Field(None, ge=1)
    border_margin: Int32 | None = Field(None, ge=0)
    max_gap: Int32 | None = Field(None, ge=0)

    def message(self) -> pb.ProcessingParameters:
        return pb.ProcessingParameters(**self.model_dump(exclude_none=True))


class WorkflowStartBody(RequestModel):
    microscopy_path: str = Field(min_length=1)
    output_dir: str = Field(min_length=1)
    channels: ChannelsBody
    parameters: ParametersBody = Field(default_factory=ParametersBody)


class MergeBody(RequestModel):
    sample_yaml: str = Field(min_length=1)
    input_dir: str = Field(min_length=1)
    output_dir: str = Field(min_length=1)


# Requests: the workbench -------------------------------------------------------------


class CellMarkBody(RequestModel):
    fov: Int32 = Field(ge=0, description="Field of view")
    cell: Int64 = Field(ge=0, description="Cell (track) id within its FOV")
    good: bool = Field(description="true keeps the cell; false leaves it out of merge and fits")

    def message(self) -> pb.CellMark:
        return pb.CellMark(fov=self.fov, cell=self.cell, good=self.good)


class QualityRuleBody(RequestModel):
    min_frames: Int32 | None = Field(None, ge=1, description="Tracks shorter than this")
    border_margin: Int32 | None = Field(
        None, ge=0, description="Boxes that come within this many pixels of the frame's edge"
    )
    good: bool = Field(False, description="The mark matching cells get (default: bad)")

    @model_validator(mode="after")
    def _one_criterion(self) -> QualityRuleBody:
        if self.min_frames is None and self.border_margin is None:
            raise ValueError("a rule needs min_frames or border_margin")
        return self

    def message(self) -> pb.QualityRule:
        return pb.QualityRule(**self.model_dump(exclude_none=True))


class QualityBody(RequestModel):
    traces_path: str = Field(min_length=1, description="Trace CSV inside the data roots")
    cells: list[CellMarkBody] = Field(
        default_factory=list, max_length=100_000, description="Cells and their marks"
    )
    rule: QualityRuleBody | None = Field(None, description="Cells matched by a rule")


class SampleBody(RequestModel):
    name: str = Field(min_length=1, max_length=100, description="Letters, digits, _ - .")
    fovs: str | list[Int32] = Field(description='FOVs: a range string ("0-3, 7") or a list')

    def message(self) -> pb.SampleDefinition:
        fovs = self.fovs if isinstance(self.fovs, str) else ", ".join(map(str, self.fovs))
        return pb.SampleDefinition(name=self.name, fovs=fovs)


class SaveSamplesBody(RequestModel):
    sample_yaml: str = Field(min_length=1, description="samples.yaml to write")
    samples: list[SampleBody] = Field(min_length=1, max_length=1000)
    input_dir: str = Field(min_length=1, description="The workflow's output folder")
    merge_output_dir: str | None = Field(
        None, description="Merge into this folder right after saving"
    )


# Answers, fields in the order the functions below write them -------------------------


class WorkflowProgress(BaseModel):
    current_fov: int = Field(description="FOVs done")
    total_fovs: int
    percentage: float
    current_step: str | None = Field(description="e.g. segmentation; null before the first")
    steps_completed: list[str]
    estimated_remaining: float | None = Field(description="Seconds; null until known")


class WorkflowStatus(BaseModel):
    """`workflow_status_json`'s body; fields in the order it writes them."""

    job_id: str
    status: str = JOB_STATUS
    progress: WorkflowProgress
    message: str
    error: JobError | None
    created_at: str | None
    started_at: str | None
    updated_at: str | None
    finished_at: str | None


def workflow_status_json(job: common_pb2.Job) -> dict[str, Any]:
    """The documented workflow status: FOV progress, step names, ETA."""
    record = job_json(job)
    progress = record["progress"]
    return {
        "job_id": job.id,
        "status": job_status(job),
        "progress": {
            "current_fov": progress["current"],
            "total_fovs": progress["total"],
            "percentage": progress["percentage"],
            "current_step": progress["current_step"],
            "steps_completed": progress["steps_completed"],
            "estimated_remaining": progress["estimated_remaining"],
        },
        "message": job.message,
        "error": record["error"],
        "created_at": record["created_at"],
        "started_at": record["started_at"],
        "updated_at": record["updated_at"],
        "finished_at": record["finished_at"],
    }


def workflow_results_schema() -> dict[str, Any]:
    """GetWorkflowResultsResponse's schema with the `stats` pyama documents:
    always an object, `processing_time` for `processing_time_s`."""
    schema = json_schema(pb.GetWorkflowResultsResponse.DESCRIPTOR)
    schema["title"] = "WorkflowResults"
    stats = json_schema(pb.WorkflowStats.DESCRIPTOR)
    stats["properties"]["processing_time"] = stats["properties"].pop("processing_time_s")
    stats["required"] = ["total_cells", "total_frames", "processing_time"]
    schema["properties"]["stats"] = stats
    return schema


def workflow_results_json(response: pb.GetWorkflowResultsResponse) -> dict[str, Any]:
    data = to_json(response)
    stats = data.get("stats") or {}
    data["stats"] = {
        "total_cells": stats.get("total_cells", 0),
        "total_frames": stats.get("total_frames", 0),
        "processing_time": stats.get("processing_time_s", 0.0),
    }
    return data


def metadata_preview_json(metadata: dict[str, Any]) -> dict[str, Any]:
    """Load-metadata's fields with pyama's 5-D preview `shape` (see `file_info`)."""
    height, width = metadata["shape"]
    shape = [metadata["n_frames"], metadata["n_fovs"], metadata["n_channels"], height, width]
    return {**metadata, "shape": shape, "frame_shape": [height, width]}


def _sizes(count: int, description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": count,
        "maxItems": count,
        "description": description,
    }


def file_info_schema() -> dict[str, Any]:
    """The schema of file-info's body: GetFileInfoResponse's, with the preview
    `metadata_preview_json` makes and `metadata_error` null when empty."""
    preview = json_schema(pb.MicroscopyMetadata.DESCRIPTOR)
    preview["title"] = "MetadataPreview"
    preview["properties"]["shape"] = _sizes(5, "[n_frames, n_fovs, n_channels, height, width]")
    preview["properties"]["frame_shape"] = _sizes(2, "[height, width] of one frame")
    preview["required"].append("frame_shape")
    schema = json_schema(pb.GetFileInfoResponse.DESCRIPTOR)
    schema["title"] = "FileInfo"
    schema["properties"]["metadata_preview"] = {"anyOf": [preview, {"type": "null"}]}
    schema["properties"]["metadata_error"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return schema


def file_info_json(response: pb.GetFileInfoResponse) -> dict[str, Any]:
    data = to_json(response)
    preview = data["metadata_preview"]
    if preview is not None:
        data["metadata_preview"] = metadata_preview_json(preview)
    data["metadata_error"] = response.metadata_error or None
    return data


# The client --------------------------------------------------------------------------

_STATUSES = {
    "pending": common_pb2.JOB_STATUS_PENDING,
    "running": common_pb2.JOB_STATUS_RUNNING,
    "completed": common_pb2.JOB_STATUS_COMPLETED,
    "failed": common_pb2.JOB_STATUS_FAILED,
    "cancelled": common_pb2.JOB_STATUS_CANCELLED,
}


class MicroscopyClient(JobsClient):
    """Every microscopy RPC the edge makes, its workflow jobs' included. Failures are
    `BackendError` (edge/errors.py answers them for REST, edge/mcp_server.py for MCP)."""

    service = "microscopy"

    # Files and frames

    async def metadata(self, file_path: str) -> dict[str, Any]:
        """The file's metadata; a successful load joins the recent files."""
        backend = self._backend
        request = pb.LoadMetadataRequest(file_path=file_path)
        return to_json((await backend.unary(backend.stub.LoadMetadata, request)).metadata)

    async def features(self) -> dict[str, Any]:
        backend = self._backend
        return to_json(await backend.unary(backend.stub.ListFeatures, pb.ListFeaturesRequest()))

    async def config_schema(self) -> dict[str, Any]:
        """The JSON schema of a workflow configuration, with its defaults and bounds."""
        backend = self._backend
        request = pb.GetProcessingConfigSchemaRequest()
        response = await backend.unary(backend.stub.GetProcessingConfigSchema, request)
        return json.loads(response.json_schema)

    async def frame(
        self,
        file_path: str,
        *,
        fov: int = 0,
        t: int = 0,
        channel: int = 0,
        z: int = 0,
        max_size: int = 0,
        low_percentile: float | None = None,
        high_percentile: float | None = None,
        overlay_job_id: str | None = None,
    ) -> pb.RenderFrameResponse:
        """One frame as a PNG (`png`) and the raw values shown as black and white."""
        backend = self._backend
        request = pb.RenderFrameRequest(
            frame=pb.FrameAddress(file_path=file_path, fov=fov, t=t, channel=channel, z=z),
            max_size=max_size,
            low_percentile=low_percentile,
            high_percentile=high_percentile,
            overlay_job_id=overlay_job_id or "",
        )
        return await backend.unary(backend.stub.RenderFrame, request)

    async def file_info(self, file_path: str) -> dict[str, Any]:
        """`file_info_schema`'s body."""
        backend = self._backend
        request = pb.GetFileInfoRequest(file_path=file_path)
        return file_info_json(await backend.unary(backend.stub.GetFileInfo, request))

    async def recent_files(self, limit: int, extensions: Sequence[str] = ()) -> dict[str, Any]:
        backend = self._backend
        request = pb.ListRecentFilesRequest(limit=limit, extensions=extensions)
        return to_json(await backend.unary(backend.stub.ListRecentFiles, request))

    # The file explorer

    async def list_directory(self, body: ListDirectoryBody) -> dict[str, Any]:
        backend = self._backend
        request = pb.ListDirectoryRequest(
            directory_path=body.directory_path,
            include_hidden=body.include_hidden,
            filter_extensions=body.filter_extensions or [],
            sort_by=_SORT_KEYS[body.sort_by],
            sort_order=_SORT_ORDERS[body.sort_order],
        )
        return to_json(await backend.unary(backend.stub.ListDirectory, request))

    async def search_files(self, body: SearchFilesBody) -> dict[str, Any]:
        """The service's answer (REST renames `search_time_s`, MCP shows it as is)."""
        backend = self._backend
        request = pb.SearchFilesRequest(
            search_path=body.search_path,
            pattern=body.pattern,
            extensions=body.extensions or [],
            max_depth=body.max_depth,
            include_hidden=body.include_hidden,
            case_sensitive=body.case_sensitive,
            limit=body.limit,
        )
        return to_json(await backend.unary(backend.stub.SearchFiles, request))

    # Workflows and merge

    async def start_workflow(
        self,
        microscopy_path: str,
        channels: ChannelsBody | None,
        parameters: ParametersBody | None,
        *,
        output_dir: str = "",
        simulate: bool = False,
    ) -> pb.StartWorkflowResponse:
        """The started job (`job_id`, `message`, `estimated_duration_s`, the record
        `job`). The service checks the configuration against the file first."""
        request = pb.StartWorkflowRequest(
            microscopy_path=microscopy_path, output_dir=output_dir, simulate=simulate
        )
        if channels is not None:
            request.channels.CopyFrom(channels.message())
        if parameters is not None:
            request.parameters.CopyFrom(parameters.message())
        backend = self._backend
        return await backend.unary(backend.stub.StartWorkflow, request)

    async def workflow_jobs(
        self, status: str | None = None, limit: int = 0
    ) -> list[dict[str, Any]]:
        """Workflow statuses (`workflow_status_json`), newest first; `status`: only
        jobs in this state (pending, running, completed, failed, cancelled)."""
        statuses = [_STATUSES[status]] if status else []
        answer = await self.jobs(type=WORKFLOW_JOB, statuses=statuses, limit=limit)
        return [workflow_status_json(job) for job in answer.jobs]

    async def workflow_results(self, job_id: str) -> dict[str, Any]:
        """`workflow_results_schema`'s body."""
        backend = self._backend
        request = pb.GetWorkflowResultsRequest(job_id=job_id)
        return workflow_results_json(await backend.unary(backend.stub.GetWorkflowResults, request))

    async def merge(self, body: MergeBody) -> dict[str, Any]:
        backend = self._backend
        request = pb.MergeResultsRequest(**body.model_dump())
        return to_json(await backend.unary(backend.stub.MergeResults, request))

    # The workbench: cells of a trace CSV, quality marks, samples

    async def cells(
        self,
        traces_path: str,
        *,
        sort_by: str = "fov",
        descending: bool = False,
        offset: int = 0,
        limit: int = 100,
        good: bool | None = None,
    ) -> dict[str, Any]:
        backend = self._backend
        request = pb.ListCellsRequest(
            traces_path=traces_path,
            sort_by=sort_by,
            descending=descending,
            offset=offset,
            limit=limit,
            good=good,
        )
        return to_json(await backend.unary(backend.stub.ListCells, request))

    async def cell(self, traces_path: str, cell: int, fov: int = 0) -> dict[str, Any]:
        backend = self._backend
        request = pb.GetCellRequest(traces_path=traces_path, fov=fov, cell=cell)
        return to_json(await backend.unary(backend.stub.GetCell, request))

    async def cell_strip(
        self,
        traces_path: str,
        cell: int,
        *,
        fov: int = 0,
        channel: int = 0,
        n_crops: int = 0,
        crop_size: int = 0,
    ) -> pb.RenderCellStripResponse:
        """Crops along the cell's track (`png`) and the frames shown (`frames`);
        `n_crops` 0 means 8, `crop_size` 0 means 96."""
        backend = self._backend
        request = pb.RenderCellStripRequest(
            traces_path=traces_path,
            fov=fov,
            cell=cell,
            channel=channel,
            n_crops=n_crops,
            crop_size=crop_size,
        )
        return await backend.unary(backend.stub.RenderCellStrip, request)

    async def cells_frame(
        self, traces_path: str, *, t: int = 0, channel: int = 0, max_size: int = 0
    ) -> pb.RenderCellsFrameResponse:
        """A frame with every cell outlined (`frame.png`), the run's frame count and size."""
        backend = self._backend
        request = pb.RenderCellsFrameRequest(
            traces_path=traces_path, t=t, channel=channel, max_size=max_size
        )
        return await backend.unary(backend.stub.RenderCellsFrame, request)

    async def cell_at(self, traces_path: str, x: int, y: int, t: int = 0) -> dict[str, Any]:
        backend = self._backend
        request = pb.FindCellRequest(traces_path=traces_path, t=t, x=x, y=y)
        return to_json(await backend.unary(backend.stub.FindCell, request))

    async def set_cell_quality(
        self,
        traces_path: str,
        cells: Sequence[CellMarkBody] = (),
        rule: QualityRuleBody | None = None,
    ) -> dict[str, Any]:
        backend = self._backend
        request = pb.SetCellQualityRequest(
            traces_path=traces_path, cells=[mark.message() for mark in cells]
        )
        if rule is not None:
            request.rule.CopyFrom(rule.message())
        return to_json(await backend.unary(backend.stub.SetCellQuality, request))

    async def samples(self, sample_yaml: str = "", input_dir: str = "") -> dict[str, Any]:
        backend = self._backend
        request = pb.GetSamplesRequest(sample_yaml=sample_yaml, input_dir=input_dir)
        return to_json(await backend.unary(backend.stub.GetSamples, request))

    async def save_samples(self, body: SaveSamplesBody) -> dict[str, Any]:
        """The YAML written and, with `merge_output_dir`, the merge (`merge`, else null)."""
        backend = self._backend
        request = pb.SaveSamplesRequest(
            sample_yaml=body.sample_yaml,
            samples=[sample.message() for sample in body.samples],
            input_dir=body.input_dir,
            merge_output_dir=body.merge_output_dir or "",
        )
        return to_json(await backend.unary(backend.stub.SaveSamples, request))
