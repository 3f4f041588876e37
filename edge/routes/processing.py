"""/api/processing: microscopy files, the file explorer, workflows and merge
(pyama-api.md, "Processing Endpoints" and "File Explorer Endpoints"), over
`MicroscopyClient`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge.clients.microscopy import (
    FilePathBody,
    ListDirectoryBody,
    MergeBody,
    SearchFilesBody,
    WorkflowStartBody,
    WorkflowStatus,
    file_info_schema,
    workflow_results_schema,
    workflow_status_json,
)
from edge.dependencies import ClientsDep
from edge.envelope import Envelope, ok
from edge.fields import Int32
from edge.job_routes import JOB_STARTED, add_job_routes, job_started
from edge.jobs_json import JobStarted
from edge.openapi import PydanticJSONResponse, binary_body, json_body, proto_body
from edge.protojson import json_schema
from micrographia.microscopy.v1 import microscopy_pb2 as pb

router = APIRouter(prefix="/api/processing", tags=["processing"])


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
async def load_metadata(body: FilePathBody, clients: ClientsDep) -> dict[str, Any]:
    """pyama's fields (n_fovs, n_frames, n_channels, channel_names, pixel_size_um,
    time_points, dtype, shape = [height, width]) and the rest of what the file says:
    time_unit ("min", or "frame" when it records no times), n_z, z_step_um,
    full_shape/axes (e.g. "TCZYX"), file_type, file_path, size_bytes. Sizes the
    file does not record are null. A successful load joins the recent files."""
    return ok(await clients.microscopy.metadata(body.file_path), "Metadata loaded")


@router.get(
    "/features",
    summary="Built-in per-cell features",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListFeaturesResponse, enveloped=True),
)
async def features(clients: ClientsDep) -> dict[str, Any]:
    return ok(await clients.microscopy.features())


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
async def config_schema(clients: ClientsDep) -> dict[str, Any]:
    """The REST face of MCP's get_processing_config_schema: the body of
    POST /workflow/start (channels, features, parameters with their defaults and
    bounds); the web app builds its workflow form from it."""
    return ok(await clients.microscopy.config_schema())


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
    clients: ClientsDep,
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
    response = await clients.microscopy.frame(
        file_path,
        fov=fov,
        t=t,
        channel=channel,
        z=z,
        max_size=max_size,
        low_percentile=low_percentile,
        high_percentile=high_percentile,
        overlay_job_id=overlay_job_id,
    )
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
async def start_workflow(body: WorkflowStartBody, clients: ClientsDep) -> dict[str, Any]:
    response = await clients.microscopy.start_workflow(
        body.microscopy_path, body.channels, body.parameters, output_dir=body.output_dir
    )
    return job_started(JobStarted.of(response), "Workflow started successfully")


class WorkflowJobs(BaseModel):
    jobs: list[WorkflowStatus] = Field(description="Newest first")
    total: int


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
    jobs = await clients.microscopy.workflow_jobs(status, limit)
    return ok({"jobs": jobs, "total": len(jobs)}, f"{len(jobs)} workflow job(s)")


add_job_routes(
    router,
    prefix="/workflow",
    jobs=lambda clients: clients.microscopy,
    noun="workflow",
    status_json=workflow_status_json,
    status_model=WorkflowStatus,
)


@router.get(
    "/workflow/results/{job_id}",
    summary="Results of a completed workflow",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(workflow_results_schema(), enveloped=True),
)
async def workflow_results(job_id: str, clients: ClientsDep) -> dict[str, Any]:
    return ok(await clients.microscopy.workflow_results(job_id))


@router.post(
    "/merge",
    summary="Merge FOV results into per-sample files",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.MergeResultsResponse, enveloped=True),
)
async def merge(body: MergeBody, clients: ClientsDep) -> dict[str, Any]:
    merged = await clients.microscopy.merge(body)
    return ok(merged, merged["message"] or "Merge completed successfully")


# ---------------------------------------------------------------- file explorer


@router.post(
    "/list-directory",
    summary="List a folder",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListDirectoryResponse, enveloped=True),
)
async def list_directory(body: ListDirectoryBody, clients: ClientsDep) -> dict[str, Any]:
    return ok(await clients.microscopy.list_directory(body))


@router.post(
    "/search-files",
    summary="Search a folder tree",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(search_files_schema(), enveloped=True),
)
async def search_files(body: SearchFilesBody, clients: ClientsDep) -> dict[str, Any]:
    data = await clients.microscopy.search_files(body)
    data["search_time"] = data.pop("search_time_s")  # pyama's name (search_files_schema)
    return ok(data)


@router.post(
    "/file-info",
    summary="One file's facts and metadata preview",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=json_body(file_info_schema(), enveloped=True),
)
async def file_info(body: FilePathBody, clients: ClientsDep) -> dict[str, Any]:
    """`file_info`, `is_microscopy_file` and, for a microscopy file, `metadata_preview`.

    `metadata_preview` holds every load-metadata field, except that its `shape` is
    the 5-D shape pyama documents here, [n_frames, n_fovs, n_channels, height,
    width]; the frame's [height, width] (load-metadata's `shape`) is `frame_shape`,
    and `full_shape`/`axes` describe every axis, Z included. A microscopy file whose
    metadata cannot be read gets `metadata_preview: null` and the reason in
    `metadata_error` (null otherwise), rather than an error for the whole request.
    """
    return ok(await clients.microscopy.file_info(body.file_path))


@router.get(
    "/recent-files",
    summary="Files whose metadata was loaded, newest first",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListRecentFilesResponse, enveloped=True),
)
async def recent_files(
    clients: ClientsDep,
    limit: Annotated[Int32, Query(ge=1, le=1000)] = 10,
    extensions: Annotated[str | None, Query(description="Comma-separated, e.g. .nd2,.czi")] = None,
) -> dict[str, Any]:
    wanted = [item.strip() for item in (extensions or "").split(",") if item.strip()]
    return ok(await clients.microscopy.recent_files(limit, wanted))
