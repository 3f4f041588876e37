"""The edge: one FastAPI app that re-exposes the five gRPC services as the
documented REST, SSE and MCP interfaces.

Lifespan: backend channels open, the MCP session manager runs, and both close
on shutdown. Middleware, outermost first: localhost-only, trusted hosts, CORS,
same-origin for state-changing requests, API keys. OpenAPI lives at /docs;
MCP at /mcp (streamable HTTP, and SSE for a legacy SSE client) and /mcp/sse (SSE).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from common import __version__
from common.settings import PlatformSettings
from common.telemetry import tracer_provider_for
from edge.backends import Backends
from edge.body_limit import JsonBodyLimitMiddleware
from edge.clients import Clients
from edge.errors import install_error_handlers
from edge.mcp_tools import build_mcp
from edge.openapi import install_openapi
from edge.routes import (
    analysis,
    cells,
    fitted,
    processing,
    slide_analysis,
    slides,
    spatial,
    system,
)
from edge.security import (
    LOOPBACK_ORIGIN,
    ApiKeyMiddleware,
    LocalhostOnlyMiddleware,
    SameOriginMiddleware,
)
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
    origins = [f"http://{host}:*" for host in settings.trusted_hosts] + settings.cors_origins
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class McpAtOneAddress:
    """/mcp for both MCP transports: the legacy SSE transport for a GET that opens
    an event stream without a session (an SSE client, as pyama-api.md tells
    clients to use /mcp), streamable HTTP for everything else."""

    def __init__(self, streamable: ASGIApp, sse: ASGIApp) -> None:
        self.streamable = streamable
        self.sse = sse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        legacy_sse = (
            scope["method"] == "GET"
            and "mcp-session-id" not in headers
            and "text/event-stream" in headers.get("accept", "")
        )
        await (self.sse if legacy_sse else self.streamable)(scope, receive, send)


def _mcp_routes(mcp: MCPServer, security: TransportSecuritySettings) -> list[BaseRoute]:
    """/mcp (both transports), /mcp/sse and /mcp/messages/ (the SSE transport)."""
    streamable = mcp.streamable_http_app(streamable_http_path="/mcp", transport_security=security)
    sse = mcp.sse_app(
        sse_path="/mcp/sse", message_path="/mcp/messages/", transport_security=security
    )
    streamable_route, *_ = streamable.routes
    sse_route, *_ = sse.routes
    both = McpAtOneAddress(streamable_route.app, sse_route.app)
    return [Route("/mcp", endpoint=both), *sse.routes]


def create_app(
    platform: PlatformSettings | None = None, settings: EdgeSettings | None = None
) -> FastAPI:
    platform = platform or PlatformSettings()
    settings = settings or EdgeSettings()
    tracer_provider = tracer_provider_for("edge", platform)
    backends = Backends(platform, settings, tracer_provider)
    mcp = build_mcp(backends)
    mcp_routes = _mcp_routes(mcp, _mcp_transport_security(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backends.open()
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            await backends.close()
            tracer_provider.shutdown()

    # /docs and /redoc with their assets served from the fastapi-offline package
    # (at /static-offline-docs), not a CDN: they work on a machine without internet.
    app = FastAPIOffline(
        title="Micrographia",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.backends = backends
    app.state.clients = Clients(backends)
    app.state.settings = settings
    app.state.platform = platform
    app.state.tracer_provider = tracer_provider
    app.state.tile_cache = TileCache(settings.tile_cache_mb * 2**20, settings.tile_cache_ttl_s)
    app.state.started_at = time.monotonic()

    install_error_handlers(app)
    install_openapi(app)
    for router in (
        system.router,
        processing.router,
        cells.router,
        analysis.router,
        fitted.router,
        slides.router,
        spatial.inference_router,
        spatial.roi_router,
        spatial.boxes_router,
        slide_analysis.router,
    ):
        app.include_router(router)
    # MCP transports are plain Starlette routes; adding them to the app's router
    # keeps the edge's 404 and security handling for every other path.
    app.router.routes.extend(mcp_routes)
    mount_web_app(app)  # last: it answers only paths no route above took

    # Starlette runs the last-added middleware first: the JSON body limit runs
    # innermost, then API keys, after CORS (a preflight carries no key) and the
    # same-origin check.
    app.add_middleware(JsonBodyLimitMiddleware, limit=settings.max_json_body_bytes)
    app.add_middleware(
        ApiKeyMiddleware,
        keys=platform.api_keys,
        exempt_paths={"/health", "/api/health", "/livez"},
        is_public=is_public_path,  # the web app's own files, so it can ask for a key
    )
    # MCP checks origins itself (its DNS-rebinding guard, which also accepts
    # local tools such as an MCP inspector on another loopback port).
    # While only local clients are answered, pages on the loopback interface (a dev
    # server's proxy forwards their Origin) are local too: see edge.security.
    app.add_middleware(
        SameOriginMiddleware,
        allowed_origins=settings.cors_origins,
        exempt_prefixes=("/mcp",),
        loopback_origins=settings.localhost_only,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_origin_regex=LOOPBACK_ORIGIN if settings.localhost_only else None,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Display-Min", "X-Display-Max"],
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(LocalhostOnlyMiddleware, enabled=settings.localhost_only)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracer_provider, excluded_urls=UNTRACED_URLS
    )
    return app
