"""/api/processing/cells and /api/processing/samples: the microscopist's workbench
after a workflow (issue 21): the cells of a trace CSV, one cell's trace, lineage and
crops, quality marks written into the CSV's `good` column, and the samples YAML that
merge reads. Beyond pyama-api.md; the shapes follow its envelope. Over
`MicroscopyClient`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from edge.clients.microscopy import QualityBody, SaveSamplesBody
from edge.dependencies import ClientsDep
from edge.envelope import ok
from edge.fields import Int32, Int64
from edge.openapi import PydanticJSONResponse, binary_body, proto_body
from micrographia.microscopy.v1 import microscopy_pb2 as pb

router = APIRouter(prefix="/api/processing", tags=["processing"])

TracesPath = Annotated[
    str, Query(min_length=1, description="A trace CSV inside the data roots (per FOV or merged)")
]


# ---------------------------------------------------------------- cells


@router.get(
    "/cells",
    summary="The cells of a trace CSV, paged and sorted",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListCellsResponse, enveloped=True),
)
async def list_cells(
    clients: ClientsDep,
    traces_path: TracesPath,
    sort_by: Annotated[
        str,
        Query(
            description="fov, cell, n_frames, first_frame, last_frame, good, parent, "
            "or a feature column (by its mean over the track)"
        ),
    ] = "fov",
    descending: bool = False,
    offset: Annotated[Int32, Query(ge=0)] = 0,
    limit: Annotated[Int32, Query(ge=1, le=10000)] = 100,
    good: Annotated[bool | None, Query(description="Only good (true) or bad (false) cells")] = None,
) -> dict[str, Any]:
    """Each cell (track) with its track length, first and last frame, `good` flag,
    parent and daughters, and the mean of every feature column."""
    cells = await clients.microscopy.cells(
        traces_path, sort_by=sort_by, descending=descending, offset=offset, limit=limit, good=good
    )
    return ok(cells)


@router.get(
    "/cells/detail",
    summary="One cell's trace and lineage",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetCellResponse, enveloped=True),
)
async def cell_detail(
    clients: ClientsDep,
    traces_path: TracesPath,
    cell: Annotated[Int64, Query(ge=0, description="Cell id")],
    fov: Annotated[Int32, Query(ge=0, description="Field of view")] = 0,
) -> dict[str, Any]:
    """Every column of the cell's rows (frame, time, position, box, features) in frame order."""
    return ok(await clients.microscopy.cell(traces_path, cell, fov))


@router.get(
    "/cells/strip",
    summary="Crops that follow one cell over time, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def cell_strip(
    clients: ClientsDep,
    traces_path: TracesPath,
    cell: Annotated[Int64, Query(ge=0, description="Cell id")],
    fov: Annotated[Int32, Query(ge=0, description="Field of view")] = 0,
    channel: Annotated[Int32, Query(ge=0, description="Channel the workflow copied")] = 0,
    n_crops: Annotated[Int32, Query(ge=1, le=32, description="Crops along the track")] = 8,
    crop_size: Annotated[Int32, Query(ge=16, le=512, description="Crop edge in pixels")] = 96,
) -> Response:
    """Crops centred on the cell at evenly spread frames of its track, its outline drawn;
    the frames shown come back in the X-Frames header."""
    response = await clients.microscopy.cell_strip(
        traces_path, cell, fov=fov, channel=channel, n_crops=n_crops, crop_size=crop_size
    )
    return Response(
        response.png,
        media_type="image/png",
        headers={"X-Frames": ",".join(map(str, response.frames))},
    )


@router.get(
    "/cells/frame",
    summary="A frame of the CSV's FOV with every cell outlined, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def cells_frame(
    clients: ClientsDep,
    traces_path: TracesPath,
    t: Annotated[Int32, Query(ge=0, description="Frame (0-based)")] = 0,
    channel: Annotated[Int32, Query(ge=0, description="Channel the workflow copied")] = 0,
    max_size: Annotated[Int32, Query(ge=0, le=8192, description="Longest edge; 0: full")] = 0,
) -> Response:
    """From the frames and tracking labels the workflow left beside the CSV. The run's
    frame count and frame size come back in X-Frame-Count, X-Frame-Width and
    X-Frame-Height, to map a click on the picture to a pixel (GET /cells/at)."""
    response = await clients.microscopy.cells_frame(
        traces_path, t=t, channel=channel, max_size=max_size
    )
    return Response(
        response.frame.png,
        media_type="image/png",
        headers={
            "X-Frame-Count": str(response.n_frames),
            "X-Frame-Width": str(response.frame_width),
            "X-Frame-Height": str(response.frame_height),
        },
    )


@router.get(
    "/cells/at",
    summary="The cell under a pixel of a frame",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.FindCellResponse, enveloped=True),
)
async def cell_at(
    clients: ClientsDep,
    traces_path: TracesPath,
    x: Annotated[Int32, Query(ge=0, description="Column in frame pixels")],
    y: Annotated[Int32, Query(ge=0, description="Row in frame pixels")],
    t: Annotated[Int32, Query(ge=0, description="Frame (0-based)")] = 0,
) -> dict[str, Any]:
    return ok(await clients.microscopy.cell_at(traces_path, x, y, t))


@router.post(
    "/cells/quality",
    summary="Mark cells good or bad",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.SetCellQualityResponse, enveloped=True),
)
async def set_cell_quality(body: QualityBody, clients: ClientsDep) -> dict[str, Any]:
    """Write marks into the CSV's `good` column (atomically: a temporary file, then a
    rename). Cells marked bad are left out by merge, load-traces and fitting; marking
    them good again undoes it. A rule marks every cell it matches (short tracks, cells
    at the border); marks named in `cells` win over it. 409 while a workflow writes
    the folder."""
    marked = await clients.microscopy.set_cell_quality(body.traces_path, body.cells, body.rule)
    return ok(marked, f"{marked['cells_changed']} cell(s) changed")


# ---------------------------------------------------------------- samples


@router.get(
    "/samples",
    summary="Read a samples YAML and the FOVs an output folder holds",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetSamplesResponse, enveloped=True),
)
async def get_samples(
    clients: ClientsDep,
    sample_yaml: Annotated[str, Query(description="samples.yaml; empty lists only FOVs")] = "",
    input_dir: Annotated[str, Query(description="A workflow's output folder")] = "",
) -> dict[str, Any]:
    return ok(await clients.microscopy.samples(sample_yaml, input_dir))


@router.post(
    "/samples",
    summary="Save a samples YAML (and merge from it)",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.SaveSamplesResponse, enveloped=True),
)
async def save_samples(body: SaveSamplesBody, clients: ClientsDep) -> dict[str, Any]:
    """Validate the samples (names, ranges, every FOV has traces in `input_dir`), write
    the YAML merge reads, and merge into `merge_output_dir` when it is given."""
    saved = await clients.microscopy.save_samples(body)
    message = "Samples saved" + (" and merged" if saved["merge"] is not None else "")
    return ok(saved, message)
