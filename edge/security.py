"""Who may talk to the edge.

- `LocalhostOnlyMiddleware`: by default only clients on this machine (the
  reference's stance for a workstation install).
- Starlette's `TrustedHostMiddleware` (installed by the app): Host headers
  outside the allowed list are refused, against DNS rebinding.
- `ApiKeyMiddleware`: with `MICROGRAPHIA_API_KEYS` set, every request but the
  health probe and the web app's own files (no data) needs `Authorization:
  Bearer <key>`: 401 UNAUTHORIZED without one, 403 FORBIDDEN with a wrong one.
All are plain ASGI middleware, so streaming responses pass through untouched.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from common import errors
from edge.errors import error_response
from edge.settings import LOOPBACK_HOSTS


class LocalhostOnlyMiddleware:
    def __init__(self, app: ASGIApp, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            host = client[0] if client else None
            if host not in LOOPBACK_HOSTS:
                response = error_response(
                    403, errors.FORBIDDEN, "Access is restricted to clients on this machine"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ApiKeyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        keys: Iterable[str],
        exempt_paths: Iterable[str] = (),
        is_public: Callable[[str], bool] = lambda path: False,
    ) -> None:
        self.app = app
        self.keys = [key.encode() for key in keys]
        self.exempt_paths = set(exempt_paths)
        self.is_public = is_public

    def _accepted(self, presented: bytes) -> bool:
        # Compare against every key in constant time, so timing reveals nothing.
        return any([hmac.compare_digest(presented, key) for key in self.keys])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.keys or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.exempt_paths or self.is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"")
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            response = error_response(
                401,
                errors.UNAUTHORIZED,
                "Authentication required: send Authorization: Bearer <key>",
            )
        elif not self._accepted(token.strip()):
            response = error_response(403, errors.FORBIDDEN, "The API key is not valid")
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
