"""The edge: one FastAPI app that re-exposes the five gRPC services as the
documented REST, SSE and MCP interfaces.

Lifespan: backend channels open, the MCP session manager runs, and both close
on shutdown. Middleware, outermost first: localhost-only, trusted hosts, API
keys. OpenAPI lives at /docs; MCP at /mcp (streamable HTTP) and /mcp/sse (SSE).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mcp.server.transport_security import TransportSecuritySettings
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.middleware.trustedhost import TrustedHostMiddleware

from common import __version__
from common.settings import PlatformSettings
from common.telemetry import tracer_provider_for
from edge.backends import Backends
from edge.errors import install_error_handlers
from edge.mcp_tools import build_mcp
from edge.routes import analysis, processing, slides, spatial, system
from edge.security import ApiKeyMiddleware, LocalhostOnlyMiddleware
from edge.settings import EdgeSettings
from edge.tile_cache import TileCache
from edge.web import is_public_path, mount_web_app

DESCRIPTION = (
    "Quantitative cell imaging: time-lapse microscopy (PyAMA API) and whole-slide "
    "pathology (Slidekick API) behind one edge."
)


# Tile fetches come by the hundred per pan and each would cost a trace of its own
# (~0.6 ms of edge CPU, more than a cached tile): they are not traced.
UNTRACED_URLS = r"/api/slides/[^/]+/dzi_files/"


def _mcp_transport_security(settings: EdgeSettings) -> TransportSecuritySettings:
    """MCP's DNS-rebinding guard, allowing exactly the hosts the edge trusts."""
    if "*" in settings.trusted_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = [f"{host}:*" for host in settings.trusted_hosts] + list(settings.trusted_hosts)
    origins = [f"http://{host}:*" for host in settings.trusted_hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def create_app(
    platform: PlatformSettings | None = None, settings: EdgeSettings | None = None
) -> FastAPI:
    platform = platform or PlatformSettings()
    settings = settings or EdgeSettings()
    tracer_provider = tracer_provider_for("edge", platform)
    backends = Backends(platform, settings, tracer_provider)
    mcp = build_mcp(backends)
    security = _mcp_transport_security(settings)
    streamable = mcp.streamable_http_app(streamable_http_path="/mcp", transport_security=security)
    sse = mcp.sse_app(
        sse_path="/mcp/sse", message_path="/mcp/messages/", transport_security=security
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backends.open()
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            await backends.close()
            tracer_provider.shutdown()

    app = FastAPI(
        title="Micrographia",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.backends = backends
    app.state.settings = settings
    app.state.platform = platform
    app.state.tracer_provider = tracer_provider
    app.state.tile_cache = TileCache(settings.tile_cache_mb * 2**20, settings.tile_cache_ttl_s)
    app.state.started_at = time.monotonic()

    install_error_handlers(app)
    for router in (
        system.router,
        processing.router,
        analysis.router,
        slides.router,
        spatial.inference_router,
        spatial.roi_router,
        spatial.boxes_router,
    ):
        app.include_router(router)
    # MCP transports are plain Starlette routes; adding them to the app's router
    # keeps the edge's 404 and security handling for every other path.
    app.router.routes.extend([*streamable.routes, *sse.routes])
    mount_web_app(app)  # last: it answers only paths no route above took

    # Starlette runs the last-added middleware first: API keys run innermost.
    app.add_middleware(
        ApiKeyMiddleware,
        keys=platform.api_keys,
        exempt_paths={"/health"},
        is_public=is_public_path,  # the web app's own files, so it can ask for a key
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(LocalhostOnlyMiddleware, enabled=settings.localhost_only)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer_provider, excluded_urls=UNTRACED_URLS
    )
    return app
