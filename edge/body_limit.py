"""JSON bodies have a size limit, enforced before they are read or parsed.

A body that declares a larger Content-Length is refused at once (413
PAYLOAD_TOO_LARGE, nothing read); one sent without a length (chunked) is
counted as it arrives and refused when it passes the limit, so the edge never
holds more than the limit of it. Uploads (multipart, octet-stream) are not
JSON and keep their own streaming limit (edge/multipart.py, routes/slides.py).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common import errors
from edge.errors import error_response


class BodyTooLarge(HTTPException):
    """A JSON body passed the limit while it was being read (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"The JSON body is larger than the limit of {limit:,} bytes"


def _is_json(headers: Headers) -> bool:
    # FastAPI parses a body without a content type as JSON too.
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type in ("", "application/json") or media_type.endswith("+json")


class JsonBodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _is_json(headers):
            await self.app(scope, receive, send)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            response = error_response(
                413, errors.PAYLOAD_TOO_LARGE, too_large_message(self.limit), {"limit": self.limit}
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)
