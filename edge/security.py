"""Who may talk to the edge.

- `LocalhostOnlyMiddleware`: by default only clients on this machine (the
  reference's stance for a workstation install).
- Starlette's `TrustedHostMiddleware` (installed by the app): Host headers
  outside the allowed list are refused, against DNS rebinding.
- Starlette's `CORSMiddleware` (installed by the app): browsers on the allowed
  origins may read answers, and their preflight `OPTIONS` is answered.
- `SameOriginMiddleware`: a state-changing request (POST, PUT, PATCH, DELETE)
  sent by a browser from another origin (any web page the user visits) is
  refused 403 FORBIDDEN, unless that origin is allowed. Requests without an
  `Origin` header come from non-browser clients and pass.
Allowed origins: those listed (setting `cors_origins`), and while the edge
answers only local clients (`localhost_only`) every origin on the loopback
interface, any port (`LOOPBACK_ORIGIN`): a web app's dev server such as Vite's
on http://localhost:5173, whose proxy forwards the browser's Origin. A page on
this machine is as local as the edge's clients; once the edge is opened beyond
localhost, only the listed origins pass.
- `ApiKeyMiddleware`: with `MICROGRAPHIA_API_KEYS` set, every request but the
  health probes and the web app's own files (no data) needs `Authorization:
  Bearer <key>`: 401 UNAUTHORIZED without one, 403 FORBIDDEN with a wrong one.
  The probes answer anyone, and `has_valid_key(request)` tells them whether to
  show what only operators may see.
All are plain ASGI middleware, so streaming responses pass through untouched.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import Response
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


STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# An origin on the loopback interface: http(s)://localhost, 127.0.0.1 or [::1], any port.
LOOPBACK_ORIGIN = r"https?://(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?"


def is_loopback_origin(origin: str) -> bool:
    return re.fullmatch(LOOPBACK_ORIGIN, origin) is not None


class SameOriginMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        allowed_origins: Iterable[str] = (),
        exempt_prefixes: tuple[str, ...] = (),
        loopback_origins: bool = False,
    ) -> None:
        self.app = app
        self.allowed_origins = {origin.rstrip("/") for origin in allowed_origins}
        self.exempt_prefixes = exempt_prefixes
        self.loopback_origins = loopback_origins

    def _accepted(self, origin: str, host: str) -> bool:
        if origin in self.allowed_origins or "*" in self.allowed_origins:
            return True
        if self.loopback_origins and is_loopback_origin(origin):
            return True
        # The edge's own pages (/docs): the origin names the host the browser asked for.
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in STATE_CHANGING_METHODS
            or scope["path"].startswith(self.exempt_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        origin_text = origin.decode("latin-1").rstrip("/")
        if self._accepted(origin_text, headers.get(b"host", b"").decode("latin-1")):
            await self.app(scope, receive, send)
            return
        response = error_response(
            403,
            errors.FORBIDDEN,
            f"Cross-origin {scope['method']} from {origin_text[:200]} refused: "
            "the origin is not allowed (setting MICROGRAPHIA_EDGE_CORS_ORIGINS)",
        )
        await response(scope, receive, send)


# Set by ApiKeyMiddleware in the request's state: whether it may see operators' facts.
_KEY_ACCEPTED = "api_key_accepted"


def has_valid_key(connection: HTTPConnection) -> bool:
    """True when no API keys are configured or the request carries a valid one."""
    return getattr(connection.state, _KEY_ACCEPTED, True)


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

    def _refusal(self, scope: Scope) -> Response | None:
        """Why the request may not pass (401 or 403), or None when its key is valid."""
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"")
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return error_response(
                401,
                errors.UNAUTHORIZED,
                "Authentication required: send Authorization: Bearer <key>",
            )
        if not self._accepted(token.strip()):
            return error_response(403, errors.FORBIDDEN, "The API key is not valid")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.keys or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        scope.setdefault("state", {})[_KEY_ACCEPTED] = refusal is None
        path = scope["path"]
        if refusal is None or path in self.exempt_paths or self.is_public(path):
            await self.app(scope, receive, send)
            return
        await refusal(scope, receive, send)
