"""/api/processing/cells and /api/processing/samples: the microscopist's workbench
after a workflow (issue 21): the cells of a trace CSV, one cell's trace, lineage and
crops, quality marks written into the CSV's `good` column, and the samples YAML that
merge reads. Beyond pyama-api.md; the shapes follow its envelope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field, model_validator

from edge.dependencies import BackendsDep
from edge.envelope import ok
from edge.fields import Int32, Int64, RequestModel
from edge.openapi import PydanticJSONResponse, binary_body, proto_body
from edge.protojson import to_json
from micrographia.microscopy.v1 import microscopy_pb2 as pb

router = APIRouter(prefix="/api/processing", tags=["processing"])

TracesPath = Annotated[
    str, Query(min_length=1, description="A trace CSV inside the data roots (per FOV or merged)")
]


class CellMarkBody(RequestModel):
    fov: Int32 = Field(ge=0, description="Field of view")
    cell: Int64 = Field(ge=0, description="Cell (track) id within its FOV")
    good: bool = Field(description="true keeps the cell; false leaves it out of merge and fits")


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


# ---------------------------------------------------------------- cells


@router.get(
    "/cells",
    summary="The cells of a trace CSV, paged and sorted",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.ListCellsResponse, enveloped=True),
)
async def list_cells(
    backends: BackendsDep,
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
    request = pb.ListCellsRequest(
        traces_path=traces_path,
        sort_by=sort_by,
        descending=descending,
        offset=offset,
        limit=limit,
        good=good,
    )
    return ok(to_json(await backends.microscopy.ListCells(request)))


@router.get(
    "/cells/detail",
    summary="One cell's trace and lineage",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetCellResponse, enveloped=True),
)
async def cell_detail(
    backends: BackendsDep,
    traces_path: TracesPath,
    cell: Annotated[Int64, Query(ge=0, description="Cell id")],
    fov: Annotated[Int32, Query(ge=0, description="Field of view")] = 0,
) -> dict[str, Any]:
    """Every column of the cell's rows (frame, time, position, box, features) in frame order."""
    request = pb.GetCellRequest(traces_path=traces_path, fov=fov, cell=cell)
    return ok(to_json(await backends.microscopy.GetCell(request)))


@router.get(
    "/cells/strip",
    summary="Crops that follow one cell over time, as PNG",
    response_class=Response,
    responses=binary_body("image/png"),
)
async def cell_strip(
    backends: BackendsDep,
    traces_path: TracesPath,
    cell: Annotated[Int64, Query(ge=0, description="Cell id")],
    fov: Annotated[Int32, Query(ge=0, description="Field of view")] = 0,
    channel: Annotated[Int32, Query(ge=0, description="Channel the workflow copied")] = 0,
    n_crops: Annotated[Int32, Query(ge=1, le=32, description="Crops along the track")] = 8,
    crop_size: Annotated[Int32, Query(ge=16, le=512, description="Crop edge in pixels")] = 96,
) -> Response:
    """Crops centred on the cell at evenly spread frames of its track, its outline drawn;
    the frames shown come back in the X-Frames header."""
    request = pb.RenderCellStripRequest(
        traces_path=traces_path,
        fov=fov,
        cell=cell,
        channel=channel,
        n_crops=n_crops,
        crop_size=crop_size,
    )
    response = await backends.microscopy.RenderCellStrip(request)
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
    backends: BackendsDep,
    traces_path: TracesPath,
    t: Annotated[Int32, Query(ge=0, description="Frame (0-based)")] = 0,
    channel: Annotated[Int32, Query(ge=0, description="Channel the workflow copied")] = 0,
    max_size: Annotated[Int32, Query(ge=0, le=8192, description="Longest edge; 0: full")] = 0,
) -> Response:
    """From the frames and tracking labels the workflow left beside the CSV. The run's
    frame count and frame size come back in X-Frame-Count, X-Frame-Width and
    X-Frame-Height, to map a click on the picture to a pixel (GET /cells/at)."""
    request = pb.RenderCellsFrameRequest(
        traces_path=traces_path, t=t, channel=channel, max_size=max_size
    )
    response = await backends.microscopy.RenderCellsFrame(request)
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
    backends: BackendsDep,
    traces_path: TracesPath,
    x: Annotated[Int32, Query(ge=0, description="Column in frame pixels")],
    y: Annotated[Int32, Query(ge=0, description="Row in frame pixels")],
    t: Annotated[Int32, Query(ge=0, description="Frame (0-based)")] = 0,
) -> dict[str, Any]:
    request = pb.FindCellRequest(traces_path=traces_path, t=t, x=x, y=y)
    return ok(to_json(await backends.microscopy.FindCell(request)))


@router.post(
    "/cells/quality",
    summary="Mark cells good or bad",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.SetCellQualityResponse, enveloped=True),
)
async def set_cell_quality(body: QualityBody, backends: BackendsDep) -> dict[str, Any]:
    """Write marks into the CSV's `good` column (atomically: a temporary file, then a
    rename). Cells marked bad are left out by merge, load-traces and fitting; marking
    them good again undoes it. A rule marks every cell it matches (short tracks, cells
    at the border); marks named in `cells` win over it. 409 while a workflow writes
    the folder."""
    request = pb.SetCellQualityRequest(
        traces_path=body.traces_path,
        cells=[pb.CellMark(fov=m.fov, cell=m.cell, good=m.good) for m in body.cells],
    )
    if body.rule is not None:
        request.rule.CopyFrom(pb.QualityRule(**body.rule.model_dump(exclude_none=True)))
    response = await backends.microscopy.SetCellQuality(request)
    return ok(to_json(response), f"{response.cells_changed} cell(s) changed")


# ---------------------------------------------------------------- samples


@router.get(
    "/samples",
    summary="Read a samples YAML and the FOVs an output folder holds",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetSamplesResponse, enveloped=True),
)
async def get_samples(
    backends: BackendsDep,
    sample_yaml: Annotated[str, Query(description="samples.yaml; empty lists only FOVs")] = "",
    input_dir: Annotated[str, Query(description="A workflow's output folder")] = "",
) -> dict[str, Any]:
    request = pb.GetSamplesRequest(sample_yaml=sample_yaml, input_dir=input_dir)
    return ok(to_json(await backends.microscopy.GetSamples(request)))


@router.post(
    "/samples",
    summary="Save a samples YAML (and merge from it)",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.SaveSamplesResponse, enveloped=True),
)
async def save_samples(body: SaveSamplesBody, backends: BackendsDep) -> dict[str, Any]:
    """Validate the samples (names, ranges, every FOV has traces in `input_dir`), write
    the YAML merge reads, and merge into `merge_output_dir` when it is given."""
    request = pb.SaveSamplesRequest(
        sample_yaml=body.sample_yaml,
        samples=[sample.message() for sample in body.samples],
        input_dir=body.input_dir,
        merge_output_dir=body.merge_output_dir or "",
    )
    response = await backends.microscopy.SaveSamples(request)
    message = "Samples saved" + (" and merged" if response.HasField("merge") else "")
    return ok(to_json(response), message)
