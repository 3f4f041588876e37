"""Request-scoped access to what the app opened in its lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from edge.backends import Backends
from edge.clients import Clients
from edge.tile_cache import TileCache


async def get_backends(request: Request) -> Backends:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread
    # hop per request for what is an attribute read.
    return request.app.state.backends


BackendsDep = Annotated[Backends, Depends(get_backends)]


async def get_clients(request: Request) -> Clients:
    return request.app.state.clients


ClientsDep = Annotated[Clients, Depends(get_clients)]


async def get_tile_cache(request: Request) -> TileCache:
    return request.app.state.tile_cache


TileCacheDep = Annotated[TileCache, Depends(get_tile_cache)]
