"""The browser app at `/`: the static files of web/src and the npm assets it
uses (installed by `make setup` into web/node_modules), so it works offline.

Mounted after every API route, so /api, /docs, /mcp, /health and the rest keep
their own handlers; a path no route and no file answers is the edge's JSON 404.

Under /api the mount serves no files: a path that differs from a route only by
its trailing slash is answered by that route (`GET /api/slides` as
`/api/slides/`, which FastAPI would redirect to, had this catch-all mount not
taken the path first), and any other is a 404 NOT_FOUND for every method (the
file server would say 405 to a POST).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from common import errors
from edge.errors import error_response

# Beside the code in a checkout; images install the code elsewhere and say where the app is.
WEB_DIR = Path(
    os.environ.get("MICROGRAPHIA_WEB_DIR") or Path(__file__).resolve().parents[1] / "web"
)
APP_DIR = WEB_DIR / "src"
# npm package -> the folder of it the app loads, served at /vendor/<package>/.
VENDOR_ASSETS = {"openseadragon": "build/openseadragon", "chart.js": "dist"}
# Paths any client may fetch without an API key: the app's own files, never data.
PUBLIC_PREFIXES = ("/vendor/", "/app/")  # see mount_web_app
PUBLIC_PATHS = {"/", "/index.html", "/favicon.ico"}


def mount_web_app(app: FastAPI) -> None:
    for package, folder in VENDOR_ASSETS.items():
        directory = WEB_DIR / "node_modules" / package / folder
        # Without `make setup` the app still loads and says what is missing.
        app.mount(
            f"/vendor/{package}",
            StaticFiles(directory=directory, check_dir=False),
            name=f"vendor-{package}",
        )
    # index.html at /, its modules and styles under /app/.
    app.mount("/", ApiPathsFirst(app, StaticFiles(directory=APP_DIR, html=True)), name="web")


class ApiPathsFirst:
    """The web app's files, except under /api (see the module's docstring)."""

    def __init__(self, app: FastAPI, files: ASGIApp) -> None:
        self.app = app
        self.files = files

    def _route_for(self, scope: Scope) -> bool:
        """Whether an API route (not this mount) takes `scope` as it is."""
        return any(
            not isinstance(route, Mount) and route.matches(scope)[0] is Match.FULL
            for route in self.app.router.routes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if scope["type"] != "http" or not (path == "/api" or path.startswith("/api/")):
            await self.files(scope, receive, send)
            return
        other = path[:-1] if path.endswith("/") else f"{path}/"
        twin = {**scope, "path": other, "raw_path": other.encode()}
        if self._route_for(twin):
            await self.app.router(twin, receive, send)
            return
        response = error_response(404, errors.NOT_FOUND, f"No API path {path[:200]} (see /docs)")
        await response(scope, receive, send)


def is_public_path(path: str) -> bool:
    """The app's own files; a path with `..` is never public, whatever it names."""
    if ".." in path:
        return False
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
