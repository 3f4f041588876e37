"""MCP tools for AI assistants (pyama-api.md, "Available MCP Tools").

Each tool is a thin call to a service RPC through its service's typed client
(edge/clients/); a failure comes back to the model as a tool error
in the user's terms, starting with the documented error code ("FILE_NOT_FOUND: ...",
"INVALID_PARAMETERS: fov: must be at most 2147483647" for an argument out of range),
never an RPC path, an address or an exception repr: `edge.mcp_server` words both.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Image
from pydantic import BaseModel, Field

from common import __version__
from edge import mcp_fitting, mcp_spatial, mcp_workbench
from edge.backends import Backends
from edge.clients import Clients
from edge.clients.microscopy import (
    ChannelsBody,
    ChannelSelectionBody,
    ListDirectoryBody,
    ParametersBody,
    SearchFilesBody,
)
from edge.fields import Int32, reworded
from edge.jobs_json import job_json, job_result
from edge.mcp_server import EdgeMCPServer
from micrographia.common.v1 import common_pb2

INSTRUCTIONS = (
    "Micrographia processes time-lapse microscopy (ND2, CZI, TIFF) into single-cell traces. "
    "Find files with list_directory or search_files, load a file's metadata, look at "
    "frames with preview_frame, read the processing config schema, then create a "
    "processing task and follow it with get_task."
)

# MCP's configuration is REST's (edge/clients/microscopy.py) in MCP's words: `pc`/`fl`
# for phase/fluorescence, `params` for parameters. The same models build the request.

ChannelInput = reworded(
    ChannelSelectionBody,
    "ChannelInput",
    "A channel and the features to measure on it.",
    {"features": "Feature ids, e.g. 'area'"},
)


class ChannelsInput(ChannelsBody):
    """`pc`: the phase-contrast channel (segmented, tracked); `fl`: fluorescence channels."""

    phase: ChannelInput | None = Field(None, alias="pc", description="Phase-contrast channel")
    fluorescence: list[ChannelInput] = Field(
        default_factory=list, alias="fl", description="Fluorescence channels"
    )


# Without the bounds: MCP has always left them to the service, whose answer names the field.
ParamsInput = reworded(
    ParametersBody,
    "ParamsInput",
    "Processing parameters; absent ones take the defaults of get_processing_config_schema.",
    {
        "positions": 'FOVs as a range string, e.g. "0-99,120"',
        "fov_start": "First FOV (when positions is absent)",
        "fov_end": "Last FOV, inclusive",
        "batch_size": "FOVs queued per worker",
        "n_workers": "Parallel FOV workers",
        "segmentation_method": 'Segmentation method: "logstd" or "cellpose"',
        "cellpose": 'Options of "cellpose": model, diameter (px), flow_threshold, '
        "cellprob_threshold, min_size; absent ones take Cellpose's defaults",
        "tracking_method": 'Tracking method ("laptrack")',
        "background_weight": "Background weight in [0, 1]",
        "background_method": 'Fluorescence background: "pspline" (default; whole frame, '
        'edges and corners) or "reference" (tile medians, constant near the edges)',
        "min_frames": "Frames a good cell is present in",
        "border_margin": "Pixels a good cell keeps from the edge",
        "max_gap": "Frames a track may skip",
    },
    bounds=False,
)


class ProcessingConfigInput(BaseModel):
    """What to process: channels, parameters, and where the results go."""

    channels: ChannelsInput
    params: ParamsInput = Field(default_factory=ParamsInput)
    output_dir: str | None = Field(
        None, description="Output folder in the data roots; default <file stem>_output beside it"
    )


def task_json(job: common_pb2.Job) -> dict[str, Any]:
    """A task as pyama-api.md's MCP tools show it: the job record and its `result`."""
    return {**job_json(job), "result": job_result(job)}


def build_mcp(backends: Backends) -> EdgeMCPServer:
    """The MCP server; the edge mounts its streamable HTTP and SSE transports."""
    mcp = EdgeMCPServer("micrographia", version=__version__, instructions=INSTRUCTIONS)
    clients = Clients(backends)
    microscopy = clients.microscopy

    @mcp.tool()
    async def load_microscopy(file_path: str) -> dict[str, Any]:
        """Load a microscopy file (ND2, CZI or TIFF) and return its metadata: FOVs,
        frames, channels, channel names, pixel size, time points, dtype and shape."""
        return await microscopy.metadata(file_path)

    @mcp.tool()
    async def preview_frame(
        file_path: str,
        fov: Int32 = 0,
        t: Int32 = 0,
        channel: Int32 = 0,
        z: Int32 = 0,
        max_size: Int32 = 1024,
        overlay_task_id: str | None = None,
    ) -> Image:
        """Look at one frame of a microscopy file: a PNG with automatic contrast
        (0.5-99.5 percentiles), its longest edge at most `max_size` pixels.
        Indices are 0-based; load_microscopy tells how many of each there are.
        With `overlay_task_id` (a completed processing task of this file), each cell's
        segmentation outline and track id are drawn over the frame."""
        frame = await microscopy.frame(
            file_path,
            fov=fov,
            t=t,
            channel=channel,
            z=z,
            max_size=max_size,
            overlay_job_id=overlay_task_id,
        )
        return Image(data=frame.png, format="png")

    @mcp.tool()
    async def list_directory(
        directory_path: str,
        include_hidden: bool = False,
        filter_extensions: list[str] | None = None,
    ) -> dict[str, Any]:
        """List one folder inside the data roots: name, path, size, modified time and
        whether each file is a microscopy file. `filter_extensions` keeps only files
        with these extensions (e.g. [".nd2", ".czi"]); folders are always listed."""
        # model_construct: the tool's arguments are checked already; the service
        # judges the rest, as before (REST refuses an empty path itself).
        body = ListDirectoryBody.model_construct(
            directory_path=directory_path,
            include_hidden=include_hidden,
            filter_extensions=filter_extensions,
        )
        return await microscopy.list_directory(body)

    @mcp.tool()
    async def search_files(
        search_path: str,
        pattern: str = "**/*",
        extensions: list[str] | None = None,
        max_depth: Int32 | None = None,
    ) -> dict[str, Any]:
        """Find files under a folder inside the data roots whose relative path matches
        the glob `pattern` (case-insensitive; "*.nd2" matches file names at any depth,
        "exp/**/*.nd2" whole paths), optionally only these `extensions`, at most
        `max_depth` folders deep."""
        body = SearchFilesBody.model_construct(
            search_path=search_path, pattern=pattern, extensions=extensions, max_depth=max_depth
        )
        return await microscopy.search_files(body)

    @mcp.tool()
    async def get_processing_config_schema() -> dict[str, Any]:
        """JSON schema of a processing configuration: channels, features and parameters."""
        return await microscopy.config_schema()

    @mcp.tool()
    async def create_processing_task(
        file_path: str, config: ProcessingConfigInput | None = None, fake: bool = False
    ) -> dict[str, Any]:
        """Create and start an image processing task for a microscopy file.
        `config` holds `channels` ({"pc": {...}, "fl": [...]}) and `params`
        (get_processing_config_schema lists every option); it is checked against the
        file before the task exists, and a problem comes back naming it.
        `fake` runs a 60-second simulated task for testing (config optional)."""
        response = await microscopy.start_workflow(
            file_path,
            config.channels if config else None,
            config.params if config else None,
            output_dir=(config.output_dir if config else None) or "",
            simulate=fake,
        )
        task = job_json(response.job) if response.HasField("job") else {"id": response.job_id}
        return {**task, "estimated_duration": response.estimated_duration_s}

    @mcp.tool()
    async def list_tasks() -> dict[str, Any]:
        """List all processing tasks, newest first, with their status, progress and
        result (null until a task completes)."""
        response = await microscopy.jobs()
        return {"tasks": [task_json(job) for job in response.jobs], "total": response.total}

    @mcp.tool()
    async def get_task(task_id: str) -> dict[str, Any]:
        """Status, progress, result (null until it completes), error details and
        timestamps of one task."""
        return task_json(await microscopy.job(task_id))

    @mcp.tool()
    async def cancel_task(task_id: str) -> dict[str, Any]:
        """Cancel a pending or running task."""
        job = await microscopy.cancel(task_id)
        return {"success": True, "task_id": job.id, "status": job_json(job)["status"]}

    @mcp.tool()
    async def list_slides() -> dict[str, Any]:
        """List the uploaded whole-slide images, newest first: id, file name, size in
        pixels, microns per pixel (null when the file does not say), vendor, levels."""
        return {"slides": await clients.slides.slides()}

    mcp_fitting.register(mcp, clients)
    mcp_workbench.register(mcp, clients)
    mcp_spatial.register(mcp, clients)
    mcp_spatial.register_slide_analysis(mcp, clients)
    return mcp
