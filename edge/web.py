"""The browser app at `/`: the static files of web/src and the npm assets it
uses (installed by `make setup` into web/node_modules), so it works offline.

Mounted after every API route, so /api, /docs, /mcp, /health and the rest keep
their own handlers; a path no route and no file answers is the edge's JSON 404.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

# Beside the code in a checkout; images install the code elsewhere and say where the app is.
WEB_DIR = Path(
    os.environ.get("MICROGRAPHIA_WEB_DIR") or Path(__file__).resolve().parents[1] / "web"
)
APP_DIR = WEB_DIR / "src"
# npm package -> the folder of it the app loads, served at /vendor/<package>/.
VENDOR_ASSETS = {"openseadragon": "build/openseadragon"}
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
    app.mount("/", StaticFiles(directory=APP_DIR, html=True), name="web")


def is_public_path(path: str) -> bool:
    """The app's own files; a path with `..` is never public, whatever it names."""
    if ".." in path:
        return False
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
