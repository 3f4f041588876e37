"""The one processing configuration: REST and MCP forms validate into `ProcessingConfig`.

REST (pyama-api.md, "Start Processing Workflow") says `channels.phase`,
`channels.fluorescence` and `parameters` (fov_start, fov_end, batch_size, n_workers,
background_weight); MCP ("create_processing_task") says `channels.pc`, `channels.fl`
and `params` (positions like "0-99,120", batch_size, segmentation_method). Both are
accepted by name, so there is one model, one JSON schema and one set of checks.

Checks come in two layers, both before a job exists:
- `parse_config`: the shape and every value that needs no file (feature ids, the
  segmentation method, ranges);
- `plan_workflow`: what needs the file and the data roots (channels and FOVs that
  exist, the output folder inside the roots).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from common.cellpose import CellposeOptions
from common.errors import InvalidArgument
from services.microscopy.core.features import fluorescence_feature_ids, phase_feature_ids
from services.microscopy.core.metadata import MicroscopyMetadata
from services.microscopy.core.paths import DataRoots
from services.microscopy.core.workflow import background
from services.microscopy.core.workflow.pipeline import SEGMENTATION_METHODS, PipelineParams

TRACKING_METHODS = ("laptrack",)
CONFIG_FILE_NAME = "processing_config.yaml"
# Parallel FOV workers one job may ask for; a cluster is sized by its scheduler, not here.
MAX_WORKERS = 64


def parse_ranges(text: str, *, what: str = "positions") -> list[int]:
    """'0-5, 7' -> [0, 1, 2, 3, 4, 5, 7]: commas, inclusive ranges, no negatives; sorted,
    without repeats. Raises ValueError naming the part that is wrong."""
    values: set[int] = set()
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError(f"{what} is empty")
    for part in parts:
        if not part:
            raise ValueError(f"{what} {text!r} has an empty item")
        low, dash, high = part.partition("-")
        try:
            start = int(low)
            end = int(high) if dash else start
        except ValueError:
            raise ValueError(
                f"{what} item {part!r} is not a number or a range like '0-5'"
            ) from None
        if start < 0 or end < 0:
            raise ValueError(f"{what} item {part!r} is negative")
        if end < start:
            raise ValueError(f"{what} item {part!r} ends before it starts")
        values.update(range(start, end + 1))
    return sorted(values)


# The science settings' defaults are the pipeline's own (pyama-reference.md): written
# once, in PipelineParams; the schema, REST, MCP and the CLI read them from here.
SCIENCE_DEFAULTS = PipelineParams()


class ChannelSelection(BaseModel):
    """A channel and the features to measure on it."""

    model_config = ConfigDict(extra="forbid")

    channel: int = Field(ge=0, description="Channel index (0-based)")
    features: list[str] = Field(
        default_factory=list, description="Feature ids (GET /api/processing/features)"
    )


class Channels(BaseModel):
    """The phase-contrast channel (segmented) and the fluorescence channels (measured)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    phase: ChannelSelection = Field(
        validation_alias=AliasChoices("phase", "pc"),
        description="Phase-contrast channel, segmented and tracked (MCP: `pc`)",
    )
    fluorescence: list[ChannelSelection] = Field(
        default_factory=list,
        validation_alias=AliasChoices("fluorescence", "fl"),
        description="Fluorescence channels to measure (MCP: `fl`)",
    )

    @model_validator(mode="after")
    def _known_features(self) -> Channels:
        _check_features("phase", self.phase.features, phase_feature_ids())
        seen: set[int] = set()
        for selection in self.fluorescence:
            if selection.channel in seen:
                raise ValueError(f"fluorescence channel {selection.channel} is listed twice")
            seen.add(selection.channel)
            _check_features(
                f"fluorescence channel {selection.channel}",
                selection.features,
                fluorescence_feature_ids(),
            )
        return self


def _check_features(where: str, features: list[str], known: frozenset[str]) -> None:
    unknown = [feature for feature in features if feature not in known]
    if unknown:
        raise ValueError(
            f"unknown feature id {', '.join(map(repr, unknown))} for the {where}; "
            f"supported: {', '.join(sorted(known))}"
        )


class ProcessingParameters(BaseModel):
    """Which FOVs, how many at once, and the science's settings (reference defaults)."""

    model_config = ConfigDict(extra="forbid")

    fov_start: int | None = Field(None, ge=0, description="First FOV (inclusive); default 0")
    fov_end: int | None = Field(
        None, ge=0, description="Last FOV (inclusive); default the file's last"
    )
    positions: str | None = Field(
        None,
        description='FOVs as a range string, e.g. "0-99,120"; overrides fov_start/fov_end',
        examples=["0-99,120"],
    )
    batch_size: int = Field(2, ge=1, le=1024, description="FOVs queued per worker at a time")
    n_workers: int = Field(1, ge=1, le=MAX_WORKERS, description="Parallel FOV workers")
    background_weight: float = Field(
        SCIENCE_DEFAULTS.background_weight,
        ge=0.0,
        le=1.0,
        description="Weight w of the background in I - w*B",
    )
    background_method: str = Field(
        background.DEFAULT_METHOD,
        description="Fluorescence background B; supported: "
        + "; ".join(f"{m.name}: {m.description}" for m in background.METHODS.values()),
        json_schema_extra={"enum": list(background.METHODS)},
    )
    # The choices as an `enum` in the schema: forms offer them as a list.
    segmentation_method: str = Field(
        SCIENCE_DEFAULTS.segmentation_method,
        description=f"Segmentation method; supported: {', '.join(SEGMENTATION_METHODS)} "
        "(cellpose runs on the inference service)",
        json_schema_extra={"enum": list(SEGMENTATION_METHODS)},
    )
    cellpose: CellposeOptions | None = Field(
        None,
        description='Options of segmentation_method "cellpose" (model, diameter, flow and '
        "cell-probability thresholds, minimum size); absent ones take Cellpose's defaults; "
        "other methods ignore them",
    )
    tracking_method: str = Field(
        "laptrack",
        description="Tracking method; supported: "
        + ", ".join(TRACKING_METHODS)
        + " (mask-overlap LAP linking with gap closing and divisions)",
        json_schema_extra={"enum": list(TRACKING_METHODS)},
    )
    max_gap: int = Field(
        SCIENCE_DEFAULTS.max_gap,
        ge=0,
        le=100,
        description="Frames a cell may be missing from a track",
    )
    min_frames: int = Field(
        SCIENCE_DEFAULTS.min_frames, ge=1, description="Cells in fewer frames are flagged not good"
    )
    border_margin: int = Field(
        SCIENCE_DEFAULTS.border_margin,
        ge=0,
        description="Cells whose box comes this close to the edge are flagged not good",
    )

    @field_validator("segmentation_method")
    @classmethod
    def _supported_method(cls, method: str) -> str:
        if method not in SEGMENTATION_METHODS:
            raise ValueError(
                f"segmentation method {method!r} is not supported; "
                f"supported: {', '.join(SEGMENTATION_METHODS)}"
            )
        return method

    @field_validator("background_method")
    @classmethod
    def _supported_background(cls, name: str) -> str:
        background.method(name)  # ValueError listing the methods
        return name

    @field_validator("tracking_method")
    @classmethod
    def _supported_tracking(cls, method: str) -> str:
        if method not in TRACKING_METHODS:
            raise ValueError(
                f"tracking method {method!r} is not supported; "
                f"supported: {', '.join(TRACKING_METHODS)}"
            )
        return method

    @field_validator("positions")
    @classmethod
    def _readable_positions(cls, positions: str | None) -> str | None:
        if positions is not None:
            parse_ranges(positions)
        return positions

    @model_validator(mode="after")
    def _ordered_range(self) -> ProcessingParameters:
        if (
            self.fov_start is not None
            and self.fov_end is not None
            and self.fov_end < self.fov_start
        ):
            raise ValueError(f"fov_end {self.fov_end} is before fov_start {self.fov_start}")
        return self

    def fovs(self, n_fovs: int) -> list[int]:
        """The FOVs asked for, in order (not yet checked against the file)."""
        if self.positions is not None:
            return parse_ranges(self.positions)
        start = self.fov_start or 0
        end = n_fovs - 1 if self.fov_end is None else self.fov_end
        return list(range(start, end + 1))


class ProcessingConfig(BaseModel):
    """Everything a processing run needs; written to processing_config.yaml."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    microscopy_path: str = Field(min_length=1, description="Microscopy file inside the data roots")
    output_dir: str | None = Field(
        None,
        description="Output folder inside the data roots; default <file stem>_output beside "
        "the file",
    )
    channels: Channels
    parameters: ProcessingParameters = Field(
        default_factory=ProcessingParameters,
        validation_alias=AliasChoices("parameters", "params"),
        description="Parameters (MCP: `params`)",
    )


def config_schema() -> dict[str, Any]:
    """JSON schema (draft 2020-12) of a processing configuration."""
    schema = ProcessingConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _location(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "config"


def explain(error: ValidationError) -> str:
    """One line per problem: 'channels.pc.features: unknown feature id ...'."""
    lines = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{_location(item)}: {message}")
    return "invalid processing configuration: " + "; ".join(lines)


def parse_config(data: dict[str, Any]) -> ProcessingConfig:
    """Validate either form; raises InvalidArgument (INVALID_PARAMETERS) naming every problem."""
    try:
        return ProcessingConfig.model_validate(data)
    except ValidationError as error:
        fields = sorted({_location(item) for item in error.errors(include_url=False)})
        raise InvalidArgument(explain(error), fields=", ".join(fields)) from None


@dataclass(frozen=True)
class WorkflowPlan:
    """A validated configuration against its file: resolved paths and the FOVs to run."""

    config: ProcessingConfig
    microscopy_path: Path
    output_dir: Path
    fovs: tuple[int, ...]
    n_frames: int
    frame_shape: tuple[int, int]

    @property
    def config_file(self) -> Path:
        return self.output_dir / CONFIG_FILE_NAME

    def to_json(self) -> dict[str, Any]:
        """What a job record keeps to resume the run (the config with resolved paths)."""
        data = self.config.model_dump(mode="json")
        data["microscopy_path"] = str(self.microscopy_path)
        data["output_dir"] = str(self.output_dir)
        return data


def default_output_dir(microscopy_path: Path) -> Path:
    name = microscopy_path.name
    stem = name.split(".", 1)[0] or name
    return microscopy_path.parent / f"{stem}_output"


def plan_workflow(
    config: ProcessingConfig, metadata: MicroscopyMetadata, roots: DataRoots
) -> WorkflowPlan:
    """Check `config` against the file's metadata and the data roots.

    Raises InvalidArgument for a channel or FOV the file does not have, and
    PermissionDenied (FORBIDDEN) for an output folder outside the data roots.
    """
    microscopy_path = Path(metadata.file_path)
    requested = config.output_dir or str(default_output_dir(microscopy_path))
    output_dir = roots.resolve(requested, must_exist=False)
    if output_dir.exists() and not output_dir.is_dir():
        raise InvalidArgument(
            f"output_dir {requested} exists and is not a folder", field="output_dir"
        )
    channels = [config.channels.phase.channel] + [
        selection.channel for selection in config.channels.fluorescence
    ]
    missing_channels = sorted({c for c in channels if c >= metadata.n_channels})
    if missing_channels:
        raise InvalidArgument(
            f"channel {', '.join(map(str, missing_channels))} is outside the file, which has "
            f"{metadata.n_channels} channel(s) (0-{metadata.n_channels - 1})",
            field="channels",
        )
    fovs = config.parameters.fovs(metadata.n_fovs)
    outside = [fov for fov in fovs if fov >= metadata.n_fovs]
    if outside:
        shown = ", ".join(map(str, outside[:10])) + (" ..." if len(outside) > 10 else "")
        raise InvalidArgument(
            f"FOV {shown} is outside the file, which has {metadata.n_fovs} FOV(s) "
            f"(0-{metadata.n_fovs - 1})",
            field="parameters",
        )
    if not fovs:
        raise InvalidArgument("no FOV selected", field="parameters")
    return WorkflowPlan(
        config=config,
        microscopy_path=microscopy_path,
        output_dir=output_dir,
        fovs=tuple(fovs),
        n_frames=metadata.n_frames,
        frame_shape=(int(metadata.shape[0]), int(metadata.shape[1])),
    )


def plan_from_json(data: dict[str, Any], metadata: MicroscopyMetadata) -> WorkflowPlan:
    """The plan a job recorded (`WorkflowPlan.to_json`), for resuming it."""
    config = ProcessingConfig.model_validate(data)
    fovs = config.parameters.fovs(metadata.n_fovs)
    return WorkflowPlan(
        config=config,
        microscopy_path=Path(data["microscopy_path"]),
        output_dir=Path(data["output_dir"]),
        fovs=tuple(fovs),
        n_frames=metadata.n_frames,
        frame_shape=(int(metadata.shape[0]), int(metadata.shape[1])),
    )


def config_yaml(plan: WorkflowPlan) -> str:
    """processing_config.yaml: the configuration with resolved paths and the FOV list."""
    import yaml

    data = plan.to_json()
    data["fovs"] = list(plan.fovs)
    return yaml.safe_dump(data, sort_keys=False)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary name beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
