"""Cellpose's options, one model for every layer that takes them.

The workflow configuration (`parameters.cellpose`: REST, MCP, CLI, the web
form) and the inference service's SegmentFrames check them with this model, so
a bad value is the same 400 wherever it comes in, before any job or any frame.
Unset values are Cellpose's defaults (`CellposeModel.eval`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Cellpose-SAM is trained at this diameter; frames are rescaled by 30 / diameter.
TRAINED_DIAMETER = 30.0


class CellposeOptions(BaseModel):
    """Options of segmentation_method "cellpose"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = Field(
        None,
        max_length=200,
        description='Model expected from the inference service (e.g. "cpsam"); '
        "default: the one it serves (MICROGRAPHIA_CELLPOSE_WEIGHTS)",
    )
    diameter: float = Field(
        0.0,
        ge=0.0,
        le=1000.0,
        description="Typical cell diameter in pixels; frames are rescaled so that it becomes "
        "30 px. 0: no rescaling",
    )
    flow_threshold: float = Field(
        0.4, ge=0.0, le=10.0, description="Largest flow error of a kept mask; 0 keeps every mask"
    )
    cellprob_threshold: float = Field(
        0.0,
        ge=-6.0,
        le=6.0,
        description="Cell-probability logit above which a pixel belongs to a cell; lower finds "
        "more and larger cells",
    )
    min_size: int = Field(
        15, ge=0, le=1_000_000, description="Masks smaller than this (pixels) are dropped"
    )

    @property
    def rescale(self) -> float:
        """How much frames are resized before the network (1: not at all)."""
        return TRAINED_DIAMETER / self.diameter if self.diameter > 0 else 1.0
