"""Every service by name, for the all-in-one mode and the test harness."""

from __future__ import annotations

from common.server import GrpcService
from common.settings import ServerSettings
from services.analysis.service import AnalysisService
from services.analysis.settings import AnalysisSettings
from services.inference.service import InferenceService
from services.inference.settings import InferenceSettings
from services.microscopy.service import MicroscopyService
from services.microscopy.settings import MicroscopySettings
from services.slides.service import SlidesService
from services.slides.settings import SlidesSettings
from services.spatial.service import SpatialService
from services.spatial.settings import SpatialSettings

# In start order: a service's peers come before it (spatial calls slides and inference).
SERVICES: dict[str, tuple[type[GrpcService], type[ServerSettings]]] = {
    "microscopy": (MicroscopyService, MicroscopySettings),
    "analysis": (AnalysisService, AnalysisSettings),
    "slides": (SlidesService, SlidesSettings),
    "inference": (InferenceService, InferenceSettings),
    "spatial": (SpatialService, SpatialSettings),
}
