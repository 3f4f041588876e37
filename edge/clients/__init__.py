"""One typed client per service: each builds its RPCs' requests and returns the
documented answers, once. REST routes, SSE routes and MCP tools are adapters over
them (edge/README.md). Services not listed here are still called through
`Backends` directly."""

from __future__ import annotations

from edge.backends import Backends
from edge.clients.analysis import AnalysisClient
from edge.clients.jobs import JobsClient
from edge.clients.slides import SlidesClient
from edge.clients.spatial import SpatialClient


class Clients:
    """Every typed client, over the app's `Backends` (opened in its lifespan)."""

    def __init__(self, backends: Backends) -> None:
        self.backends = backends
        self.settings = backends.settings
        self.analysis = AnalysisClient(backends)
        self.slides = SlidesClient(backends)
        self.spatial = SpatialClient(backends)
        # Workflow jobs, until microscopy has a client of its own.
        self.microscopy_jobs = JobsClient(backends, "microscopy")


__all__ = ["AnalysisClient", "Clients", "JobsClient", "SlidesClient", "SpatialClient"]
