"""One typed client per service: each builds its RPCs' requests and returns the
documented answers, once. REST routes, SSE routes and MCP tools are adapters over
them (edge/README.md). The edge calls inference only for /health, in `Backends`."""

from __future__ import annotations

from edge.backends import Backends
from edge.clients.analysis import AnalysisClient
from edge.clients.jobs import JobsClient
from edge.clients.microscopy import MicroscopyClient
from edge.clients.slides import SlidesClient
from edge.clients.spatial import SpatialClient


class Clients:
    """Every typed client, over the app's `Backends` (opened in its lifespan)."""

    def __init__(self, backends: Backends) -> None:
        self.backends = backends
        self.settings = backends.settings
        self.analysis = AnalysisClient(backends)
        self.microscopy = MicroscopyClient(backends)
        self.slides = SlidesClient(backends)
        self.spatial = SpatialClient(backends)


__all__ = [
    "AnalysisClient",
    "Clients",
    "JobsClient",
    "MicroscopyClient",
    "SlidesClient",
    "SpatialClient",
]
