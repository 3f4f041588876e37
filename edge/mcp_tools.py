"""MCP tools for AI assistants (pyama-api.md, "Available MCP Tools").

Each tool is a thin call to a service RPC; a failure comes back to the model
as a tool error in the user's terms, starting with the documented error code
("FILE_NOT_FOUND: ...", "INVALID_PARAMETERS: fov: must be at most 2147483647"
for an argument out of range, see `edge.mcp_server`), never an RPC path, an
address or an exception repr.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from mcp.server.mcpserver import Image
from mcp.server.mcpserver.exceptions import ToolError

from common import __version__, errors
from edge.backends import Backends
from edge.errors import BackendError, user_message
from edge.fields import Int32
from edge.jobs_json import job_json
from edge.mcp_server import EdgeMCPServer
from edge.protojson import to_json
from micrographia.common.v1 import common_pb2
from micrographia.microscopy.v1 import microscopy_pb2
from micrographia.slides.v1 import slides_pb2

T = TypeVar("T")

INSTRUCTIONS = (
    "Micrographia processes time-lapse microscopy (ND2, CZI, TIFF) into single-cell traces. "
    "Find files with list_directory or search_files, load a file's metadata, look at "
    "frames with preview_frame, read the processing config schema, then create a "
    "processing task and follow it with get_task."
)


async def _call(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except BackendError as error:
        message, _ = user_message(error)
        raise ToolError(f"{error.failure.error_code}: {message}") from None


def _invalid_config(error: Exception) -> ToolError:
    reason = f"missing {error.args[0]!s}" if isinstance(error, KeyError) else str(error)
    return ToolError(f"{errors.INVALID_PARAMETERS}: the processing config is not valid: {reason}")


def _workflow_request(file_path: str, config: dict[str, Any], fake: bool):
    """The MCP config shape ({channels: {pc, fl}, params}) as a StartWorkflowRequest."""
    channels = config.get("channels") or {}
    params = config.get("params") or {}
    phase = channels.get("pc") or channels.get("phase")
    fluorescence = channels.get("fl") or channels.get("fluorescence") or []
    request = microscopy_pb2.StartWorkflowRequest(
        microscopy_path=file_path,
        output_dir=str(config.get("output_dir", "")),
        simulate=fake,
    )
    if phase:
        request.channels.phase.CopyFrom(
            microscopy_pb2.ChannelSelection(
                channel=int(phase["channel"]), features=phase.get("features", [])
            )
        )
    for selection in fluorescence:
        request.channels.fluorescence.add(
            channel=int(selection["channel"]), features=selection.get("features", [])
        )
    known = microscopy_pb2.ProcessingParameters.DESCRIPTOR.fields_by_name
    for name, value in params.items():
        if name in known and value is not None:
            setattr(request.parameters, name, value)
    return request


def build_mcp(backends: Backends) -> EdgeMCPServer:
    """The MCP server; the edge mounts its streamable HTTP and SSE transports."""
    mcp = EdgeMCPServer("micrographia", version=__version__, instructions=INSTRUCTIONS)

    @mcp.tool()
    async def load_microscopy(file_path: str) -> dict[str, Any]:
        """Load a microscopy file (ND2, CZI or TIFF) and return its metadata: FOVs,
        frames, channels, channel names, pixel size, time points, dtype and shape."""
        request = microscopy_pb2.LoadMetadataRequest(file_path=file_path)
        response = await _call(backends.microscopy.LoadMetadata(request))
        return to_json(response.metadata)

    @mcp.tool()
    async def preview_frame(
        file_path: str,
        fov: Int32 = 0,
        t: Int32 = 0,
        channel: Int32 = 0,
        z: Int32 = 0,
        max_size: Int32 = 1024,
    ) -> Image:
        """Look at one frame of a microscopy file: a PNG with automatic contrast
        (0.5-99.5 percentiles), its longest edge at most `max_size` pixels.
        Indices are 0-based; load_microscopy tells how many of each there are."""
        frame = microscopy_pb2.FrameAddress(file_path=file_path, fov=fov, t=t, channel=channel, z=z)
        request = microscopy_pb2.RenderFrameRequest(frame=frame, max_size=max_size)
        response = await _call(backends.microscopy.RenderFrame(request))
        return Image(data=response.png, format="png")

    @mcp.tool()
    async def list_directory(
        directory_path: str,
        include_hidden: bool = False,
        filter_extensions: list[str] | None = None,
    ) -> dict[str, Any]:
        """List one folder inside the data roots: name, path, size, modified time and
        whether each file is a microscopy file. `filter_extensions` keeps only files
        with these extensions (e.g. [".nd2", ".czi"]); folders are always listed."""
        request = microscopy_pb2.ListDirectoryRequest(
            directory_path=directory_path,
            include_hidden=include_hidden,
            filter_extensions=filter_extensions or [],
        )
        return to_json(await _call(backends.microscopy.ListDirectory(request)))

    @mcp.tool()
    async def search_files(
        search_path: str,
        pattern: str = "**/*",
        extensions: list[str] | None = None,
        max_depth: Int32 | None = None,
    ) -> dict[str, Any]:
        """Find files under a folder inside the data roots whose relative path matches
        the glob `pattern` ("**/*.nd2"; case-insensitive), optionally only these
        `extensions`, at most `max_depth` folders deep."""
        request = microscopy_pb2.SearchFilesRequest(
            search_path=search_path,
            pattern=pattern,
            extensions=extensions or [],
            max_depth=max_depth,
        )
        return to_json(await _call(backends.microscopy.SearchFiles(request)))

    @mcp.tool()
    async def get_processing_config_schema() -> dict[str, Any]:
        """JSON schema of a processing configuration: channels, features and parameters."""
        request = microscopy_pb2.GetProcessingConfigSchemaRequest()
        response = await _call(backends.microscopy.GetProcessingConfigSchema(request))
        return json.loads(response.json_schema)

    @mcp.tool()
    async def create_processing_task(
        file_path: str, config: dict[str, Any], fake: bool = False
    ) -> dict[str, Any]:
        """Create and start an image processing task for a microscopy file.
        `config` holds `channels` ({"pc": {...}, "fl": [...]}) and `params`;
        `fake` runs a 60-second simulated task for testing."""
        try:
            request = _workflow_request(file_path, config, fake)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise _invalid_config(error) from None
        response = await _call(backends.microscopy.StartWorkflow(request))
        return job_json(response.job) if response.HasField("job") else {"id": response.job_id}

    @mcp.tool()
    async def list_tasks() -> dict[str, Any]:
        """List all processing tasks, newest first, with their status and progress."""
        response = await _call(backends.microscopy.ListJobs(common_pb2.ListJobsRequest()))
        return {"tasks": [job_json(job) for job in response.jobs], "total": response.total}

    @mcp.tool()
    async def get_task(task_id: str) -> dict[str, Any]:
        """Status, progress, result, error details and timestamps of one task."""
        response = await _call(backends.microscopy.GetJob(common_pb2.GetJobRequest(job_id=task_id)))
        return job_json(response.job)

    @mcp.tool()
    async def cancel_task(task_id: str) -> dict[str, Any]:
        """Cancel a pending or running task."""
        response = await _call(
            backends.microscopy.CancelJob(common_pb2.CancelJobRequest(job_id=task_id))
        )
        return {
            "success": True,
            "task_id": response.job.id,
            "status": job_json(response.job)["status"],
        }

    @mcp.tool()
    async def list_slides() -> dict[str, Any]:
        """List the uploaded whole-slide images, newest first: id, file name, size in
        pixels, microns per pixel (null when the file does not say), vendor, levels."""
        response = await _call(backends.slides.ListSlides(slides_pb2.ListSlidesRequest()))
        return {"slides": [to_json(slide) for slide in response.slides]}

    from edge import mcp_spatial  # here: it uses this module's helpers

    mcp_spatial.register(mcp, backends)
    return mcp
