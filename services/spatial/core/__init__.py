"""The spatial service's domain core: boxes and nuclei in PostGIS, region
statistics, exports. No gRPC; see README.md."""

from services.spatial.core.bounds import Bounds, viewport_bounds
from services.spatial.core.cell_types import CELL_TYPE_NAMES, CELL_TYPES
from services.spatial.core.codec import register_geometry_codec
from services.spatial.core.nuclei import NucleiBatch
from services.spatial.core.statistics import BoxMetrics, CellTypeCount, Summary, box_metrics
from services.spatial.core.store import (
    MAX_VIEWPORT_NUCLEI,
    AnalysisBox,
    SpatialStore,
    StoredNucleus,
    StoredRegion,
    ViewportNuclei,
)

__all__ = [
    "CELL_TYPES",
    "CELL_TYPE_NAMES",
    "MAX_VIEWPORT_NUCLEI",
    "AnalysisBox",
    "Bounds",
    "BoxMetrics",
    "CellTypeCount",
    "NucleiBatch",
    "SpatialStore",
    "StoredNucleus",
    "StoredRegion",
    "Summary",
    "ViewportNuclei",
    "box_metrics",
    "register_geometry_codec",
    "viewport_bounds",
]
