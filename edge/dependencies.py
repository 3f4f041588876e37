"""Request-scoped access to what the app opened in its lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from edge.backends import Backends


def get_backends(request: Request) -> Backends:
    return request.app.state.backends


BackendsDep = Annotated[Backends, Depends(get_backends)]
