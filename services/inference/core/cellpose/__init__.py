"""Cellpose on microscopy frames: frames in, instance labels out.

The network is Cellpose's own (`cellpose.vit.CPSAM`), run behind a
`FlowPredictor` like HoVerNet behind its `Predictor`; normalisation, tiling,
flow dynamics and mask reconstruction are Cellpose's own functions, so a frame
gets the labels `CellposeModel.eval` would give it. What differs is how the
device is used: the tiles of every frame of a request share its batches.
"""

from .frames import (
    CellposeOptions,
    FrameLabels,
    FramesConfig,
    FramesSummary,
    check_frames,
    segment_frames,
)
from .host import CellposeHost
from .predictor import FlowNetworkPredictor, FlowPredictor
from .weights import CELLPOSE_SETTING, DEFAULT_MODEL, build_network

__all__ = [
    "CELLPOSE_SETTING",
    "DEFAULT_MODEL",
    "CellposeHost",
    "CellposeOptions",
    "FlowNetworkPredictor",
    "FlowPredictor",
    "FrameLabels",
    "FramesConfig",
    "FramesSummary",
    "build_network",
    "check_frames",
    "segment_frames",
]
