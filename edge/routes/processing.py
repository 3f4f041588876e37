"""/api/processing: microscopy files, the file explorer, workflows and merge
(pyama-api.md, "Processing Endpoints" and "File Explorer Endpoints")."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from common.cellpose import CellposeOptions
from edge.dependencies import BackendsDep, ClientsDep
from edge.envelope import Envelope, ok
from edge.fields import Int32, RequestModel
from edge.job_routes import JOB_STARTED, add_job_routes, job_started
from edge.jobs_json import JOB_STATUS, JobError, JobStarted, job_json, job_status
from edge.openapi import PydanticJSONResponse, binary_body, json_body, proto_body
from edge.protojson import json_schema, to_json
from micrographia.common.v1 import common_pb2
from micrographia.microscopy.v1 import microscopy_pb2 as pb

router = APIRouter(prefix="/api/processing", tags=["processing"])


# ---------------------------------------------------------------- requests


class FilePathBody(RequestModel):
    file_path: str = Field(min_length=1, description="Path to a file inside the data roots")


class ChannelSelectionBody(RequestModel):
    channel: Int32 = Field(ge=0, description="Channel index (0-based)")
    features: list[str] = Field(default_factory=list, description="Feature ids")


class ChannelsBody(RequestModel):
    phase: ChannelSelectionBody | None = None
    fluorescence: list[ChannelSelectionBody] = Field(default_factory=list)


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


class WorkflowStartBody(RequestModel):
    microscopy_path: str = Field(min_length=1)
    output_dir: str = Field(min_length=1)
    channels: ChannelsBody
    parameters: ParametersBody = Field(default_factory=ParametersBody)


class MergeBody(RequestModel):
    sample_yaml: str = Field(min_length=1)
    input_dir: str = Field(min_length=1)
    output_dir: str = Field(min_length=1)


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


def _selection(body: ChannelSelectionBody) -> pb.ChannelSelection:
    return pb.ChannelSelection(channel=body.channel, features=body.features)


def workflow_request(body: WorkflowStartBody) -> pb.StartWorkflowRequest:
    channels = pb.Channels(fluorescence=[_selection(item) for item in body.channels.fluorescence])
    if body.channels.phase is not None:
        channels.phase.CopyFrom(_selection(body.channels.phase))
    return pb.StartWorkflowRequest(
        microscopy_path=body.microscopy_path,
        output_dir=body.output_dir,
        channels=channels,
        parameters=pb.ProcessingParameters(**body.parameters.model_dump(exclude_none=True)),
    )


# ---------------------------------------------------------------- responses


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


def search_files_schema() -> dict[str, Any]:
    """SearchFilesResponse's schema with pyama's name for the time taken."""
    schema = json_schema(pb.SearchFilesResponse.DESCRIPTOR)
    schema["title"] = "SearchResult"
    schema["properties"]["search_time"] = schema["properties"].pop("search_time_s")
    schema["required"] = [
        "search_time" if name == "search_time_s" else name for name in schema["required"]
    ]
    return schema


# ---------------------------------------------------------------- metadata


@router.post(
    "/load-metadata",
    summary="Load a microscopy file's metadata",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.MicroscopyMetadata, enveloped=True),
)
async def load_metadata(body: FilePathBody, backends: BackendsDep) -> dict[str, Any]:
    """pyama's fields (n_fovs, n_frames, n_channels, channel_names, pixel_size_um,
    time_points, dtype, shape = [height, width]) and the rest of what the file says:
    time_unit ("min", or "frame" when it records no times), n_z, z_step_um,
    full_shape/axes (e.g. "TCZYX"), file_type, file_path, size_bytes. Sizes the
    file does not record are null. A successful load joins the recent files."""
    response = await backends.microscopy.LoadMetadata(
        pb.LoadMetadataRequest(file_path=body.file_path)
    )
    return ok(to_json(response.metadata), "Metadata loaded")


@router.get(
    "/features",
    summary="Built-in per-cell features",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListFeaturesResponse, enveloped=True),
)
async def features(backends: BackendsDep) -> dict[str, Any]:
    response = await backends.microscopy.ListFeatures(pb.ListFeaturesRequest())
    return ok(to_json(response))


CONFIG_SCHEMA_BODY = {
    200: {
        "description": "The documented envelope around a JSON Schema (draft 2020-12) document",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "success": {"type": "boolean"},
                        "data": {
                            "type": "object",
                            "description": "JSON Schema of POST /api/processing/workflow/start",
                        },
                    },
                    "required": ["success", "data"],
                }
            }
        },
    }
}


@router.get(
    "/config-schema",
    summary="JSON schema of a workflow configuration",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=CONFIG_SCHEMA_BODY,
)
async def config_schema(backends: BackendsDep) -> dict[str, Any]:
    """The REST face of MCP's get_processing_config_schema: the body of
    POST /workflow/start (channels, features, parameters with their defaults and
    bounds); the web app builds its workflow form from it."""
    response = await backends.microscopy.GetProcessingConfigSchema(
        pb.GetProcessingConfigSchemaRequest()
    )
    return ok(json.loads(response.json_schema))


class DataRootsBody(BaseModel):
    roots: list[str] = Field(description="Absolute folders; relative paths start at the first")


@router.get(
    "/data-roots",
    summary="The folders microscopy paths must lie in",
    response_model=Envelope[DataRootsBody],
    response_model_exclude_unset=True,
)
async def data_roots(request: Request) -> dict[str, Any]:
    """Where a file browser starts; paths outside these are refused (403)."""
    roots = request.app.state.platform.data_roots
    return ok({"roots": [str(root.resolve()) for root in roots]})


@router.get(
    "/frame",
    summary="One frame as a PNG with automatic contrast",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def frame(
    backends: BackendsDep,
    file_path: Annotated[str, Query(min_length=1, description="Microscopy file")],
    fov: Annotated[Int32, Query(ge=0, description="Field of view (0-based)")] = 0,
    t: Annotated[Int32, Query(ge=0, description="Time point (0-based)")] = 0,
    channel: Annotated[Int32, Query(ge=0, description="Channel (0-based)")] = 0,
    z: Annotated[Int32, Query(ge=0, description="Z-plane (0-based)")] = 0,
    max_size: Annotated[
        Int32, Query(ge=0, le=8192, description="Longest edge in pixels; 0 keeps the frame size")
    ] = 0,
    low_percentile: Annotated[
        float | None, Query(ge=0, le=100, description="Shown as black; default 0.5")
    ] = None,
    high_percentile: Annotated[
        float | None, Query(ge=0, le=100, description="Shown as white; default 99.5")
    ] = None,
    overlay_job_id: Annotated[
        str | None,
        Query(description="A completed workflow job of this file: draw its outlines and ids"),
    ] = None,
) -> Response:
    """The frame (fov, t, channel, z) contrast-stretched to 8 bits between two
    percentiles of its pixel values. The raw values shown as black and white come
    back in the X-Display-Min and X-Display-Max headers. With `overlay_job_id`, the
    job's segmentation outlines (one colour per track) and track ids are drawn over it."""
    address = pb.FrameAddress(file_path=file_path, fov=fov, t=t, channel=channel, z=z)
    request = pb.RenderFrameRequest(
        frame=address,
        max_size=max_size,
        low_percentile=low_percentile,
        high_percentile=high_percentile,
        overlay_job_id=overlay_job_id or "",
    )
    response = await backends.microscopy.RenderFrame(request)
    return Response(
        response.png,
        media_type="image/png",
        headers={
            # repr: the shortest text that reads back as the same double
            "X-Display-Min": repr(response.display_min),
            "X-Display-Max": repr(response.display_max),
        },
    )


# ---------------------------------------------------------------- workflow


@router.post("/workflow/start", summary="Start the processing workflow", **JOB_STARTED)
async def start_workflow(body: WorkflowStartBody, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.microscopy.StartWorkflow(workflow_request(body))
    return job_started(JobStarted.of(response), "Workflow started successfully")


class WorkflowJobs(BaseModel):
    jobs: list[WorkflowStatus] = Field(description="Newest first")
    total: int


# The microscopy service's job type of a workflow (its other jobs are not workflows).
WORKFLOW_JOB = "workflow"
_STATUS_FILTER = {
    "pending": common_pb2.JOB_STATUS_PENDING,
    "running": common_pb2.JOB_STATUS_RUNNING,
    "completed": common_pb2.JOB_STATUS_COMPLETED,
    "failed": common_pb2.JOB_STATUS_FAILED,
    "cancelled": common_pb2.JOB_STATUS_CANCELLED,
}


@router.get(
    "/workflow/jobs",
    summary="Workflow jobs, newest first, finished ones too (traces: /workflow/results)",
    response_model=Envelope[WorkflowJobs],
    response_model_exclude_unset=True,
)
async def workflow_jobs(
    clients: ClientsDep,
    status: Annotated[
        Literal["pending", "running", "completed", "failed", "cancelled"] | None,
        Query(description="Only jobs in this state"),
    ] = None,
    limit: Annotated[Int32, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    statuses = [_STATUS_FILTER[status]] if status else []
    answer = await clients.microscopy_jobs.jobs(type=WORKFLOW_JOB, statuses=statuses, limit=limit)
    jobs = [workflow_status_json(job) for job in answer.jobs]
    return ok({"jobs": jobs, "total": len(jobs)}, f"{len(jobs)} workflow job(s)")


add_job_routes(
    router,
    prefix="/workflow",
    jobs=lambda clients: clients.microscopy_jobs,
    noun="workflow",
    status_json=workflow_status_json,
    status_model=WorkflowStatus,
)


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


@router.get(
    "/workflow/results/{job_id}",
    summary="Results of a completed workflow",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(workflow_results_schema(), enveloped=True),
)
async def workflow_results(job_id: str, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.microscopy.GetWorkflowResults(
        pb.GetWorkflowResultsRequest(job_id=job_id)
    )
    data = to_json(response)
    stats = data.get("stats") or {}
    data["stats"] = {
        "total_cells": stats.get("total_cells", 0),
        "total_frames": stats.get("total_frames", 0),
        "processing_time": stats.get("processing_time_s", 0.0),
    }
    return ok(data)


@router.post(
    "/merge",
    summary="Merge FOV results into per-sample files",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.MergeResultsResponse, enveloped=True),
)
async def merge(body: MergeBody, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.microscopy.MergeResults(pb.MergeResultsRequest(**body.model_dump()))
    return ok(to_json(response), response.message or "Merge completed successfully")


# ---------------------------------------------------------------- file explorer


@router.post(
    "/list-directory",
    summary="List a folder",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListDirectoryResponse, enveloped=True),
)
async def list_directory(body: ListDirectoryBody, backends: BackendsDep) -> dict[str, Any]:
    request = pb.ListDirectoryRequest(
        directory_path=body.directory_path,
        include_hidden=body.include_hidden,
        filter_extensions=body.filter_extensions or [],
        sort_by=_SORT_KEYS[body.sort_by],
        sort_order=_SORT_ORDERS[body.sort_order],
    )
    response = await backends.microscopy.ListDirectory(request)
    return ok(to_json(response))


@router.post(
    "/search-files",
    summary="Search a folder tree",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(search_files_schema(), enveloped=True),
)
async def search_files(body: SearchFilesBody, backends: BackendsDep) -> dict[str, Any]:
    request = pb.SearchFilesRequest(
        search_path=body.search_path,
        pattern=body.pattern,
        extensions=body.extensions or [],
        max_depth=body.max_depth,
        include_hidden=body.include_hidden,
        case_sensitive=body.case_sensitive,
        limit=body.limit,
    )
    response = await backends.microscopy.SearchFiles(request)
    data = to_json(response)
    data["search_time"] = data.pop("search_time_s")
    return ok(data)


@router.post(
    "/file-info",
    summary="One file's facts and metadata preview",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(file_info_schema(), enveloped=True),
)
async def file_info(body: FilePathBody, backends: BackendsDep) -> dict[str, Any]:
    """`file_info`, `is_microscopy_file` and, for a microscopy file, `metadata_preview`.

    `metadata_preview` holds every load-metadata field, except that its `shape` is
    the 5-D shape pyama documents here, [n_frames, n_fovs, n_channels, height,
    width]; the frame's [height, width] (load-metadata's `shape`) is `frame_shape`,
    and `full_shape`/`axes` describe every axis, Z included. A microscopy file whose
    metadata cannot be read gets `metadata_preview: null` and the reason in
    `metadata_error` (null otherwise), rather than an error for the whole request.
    """
    response = await backends.microscopy.GetFileInfo(
        pb.GetFileInfoRequest(file_path=body.file_path)
    )
    data = to_json(response)
    preview = data["metadata_preview"]
    if preview is not None:
        data["metadata_preview"] = metadata_preview_json(preview)
    data["metadata_error"] = response.metadata_error or None
    return ok(data)


@router.get(
    "/recent-files",
    summary="Files whose metadata was loaded, newest first",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListRecentFilesResponse, enveloped=True),
)
async def recent_files(
    backends: BackendsDep,
    limit: Annotated[Int32, Query(ge=1, le=1000)] = 10,
    extensions: Annotated[str | None, Query(description="Comma-separated, e.g. .nd2,.czi")] = None,
) -> dict[str, Any]:
    wanted = [item.strip() for item in (extensions or "").split(",") if item.strip()]
    response = await backends.microscopy.ListRecentFiles(
        pb.ListRecentFilesRequest(limit=limit, extensions=wanted)
    )
    return ok(to_json(response))
