"""The domain core of the inference service: HoVerNet on slide regions.

No gRPC here: see README.md for which core call each RPC makes.
"""

from .model import ModelSpec, WeightsUnavailable, load_network, select_device
from .predictor import Maps, NetworkPredictor, Predictor
from .segmentation import (
    Event,
    NucleiFound,
    Nucleus,
    Progress,
    RegionPlan,
    SegmentationConfig,
    SlideFacts,
    Summary,
    plan_region,
    segment_region,
)

__all__ = [
    "Event",
    "Maps",
    "ModelSpec",
    "NetworkPredictor",
    "NucleiFound",
    "Nucleus",
    "Predictor",
    "Progress",
    "RegionPlan",
    "SegmentationConfig",
    "SlideFacts",
    "Summary",
    "WeightsUnavailable",
    "load_network",
    "plan_region",
    "segment_region",
    "select_device",
]
