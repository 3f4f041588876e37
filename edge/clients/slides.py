"""The slides service as the edge speaks it: the slide registry, uploads, Deep Zoom,
thumbnails, associated images and scale bars (slidekick-api.md, "Slides").

Each method builds its RPC's request and returns the documented answer, once; the
REST routes (edge/routes/slides.py) and the MCP tools (`list_slides`) only adapt
them to their transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import ClientDisconnect

from edge.backends import BackendClient, Backends
from edge.errors import ApiError, BackendError
from edge.protojson import to_json
from micrographia.slides.v1 import slides_pb2 as pb

UPLOAD_MESSAGE_BYTES = 1024 * 1024


def slide_json(slide: pb.Slide) -> dict[str, Any]:
    return to_json(slide)


class UploadBody:
    """The request body as UploadSlide messages, and what went wrong reading it.

    grpc consumes the messages in a task of its own; when reading the body
    fails there (the client went away) grpc cancels the call and the service
    removes what it had written, but the reason stays here.
    """

    def __init__(self, chunks: AsyncIterator[bytes], max_bytes: int) -> None:
        self._chunks = chunks
        self._max_bytes = max_bytes
        self.failure: Exception | None = None

    async def messages(self, header: pb.UploadSlideHeader) -> AsyncIterator[pb.UploadSlideRequest]:
        """The header, then the file in messages of about 1 MiB, up to the piece of
        the body that crosses the limit.

        That piece goes out and the stream ends there: the service refuses it
        (PAYLOAD_TOO_LARGE, 413) and the rest of the body is never read. Ending
        the stream rather than writing on matters: when a server ends a call the
        client is still writing to, grpc.aio may report INTERNAL instead of the
        server's status (grpc/grpc#36066).
        """
        yield pb.UploadSlideRequest(header=header)
        # The body arrives in ~64 KiB pieces; fewer, larger messages move faster.
        buffer = bytearray()
        received = 0
        try:
            async for chunk in self._chunks:
                buffer += chunk
                received += len(chunk)
                too_large = received > self._max_bytes
                if too_large or len(buffer) >= UPLOAD_MESSAGE_BYTES:
                    yield pb.UploadSlideRequest(chunk=bytes(buffer))
                    buffer.clear()
                if too_large:
                    return
        except Exception as error:
            self.failure = error
            raise
        if buffer:
            yield pb.UploadSlideRequest(chunk=bytes(buffer))

    def raise_failure(self) -> None:
        """If the call failed because the body did, raise that instead.

        A locally cancelled grpc.aio call raises CancelledError; one that is
        this task being cancelled (shutdown) is left to propagate.
        """
        task = asyncio.current_task()
        if self.failure is None or (task is not None and task.cancelling()):
            return
        if isinstance(self.failure, ClientDisconnect):
            raise ApiError(499, "CANCELLED", "The client went away during the upload") from None
        raise self.failure


class SlidesClient:
    """Every slides RPC the edge makes. Failures are `BackendError` (edge/errors.py
    answers them for REST, edge/mcp_server.py for MCP)."""

    def __init__(self, backends: Backends) -> None:
        self._backends = backends

    @property
    def _backend(self) -> BackendClient:
        return self._backends.slides  # opened in the app's lifespan

    async def upload(self, filename: str, chunks: AsyncIterator[bytes]) -> dict[str, Any]:
        """The stored slide. The service judges the name before a byte of the file is
        read, and says how much it accepts; the body is streamed to it in ~1 MiB messages."""
        backend = self._backend
        header = pb.UploadSlideHeader(filename=filename)
        check = await backend.unary(backend.stub.CheckUpload, pb.CheckUploadRequest(header=header))
        body = UploadBody(chunks, check.max_upload_bytes)
        try:
            response = await backend.unary(
                backend.stub.UploadSlide,
                body.messages(header),
                timeout=self._backends.settings.stream_timeout_s,
            )
        except (asyncio.CancelledError, BackendError):
            body.raise_failure()
            raise
        return slide_json(response.slide)

    async def upload_formats(self) -> dict[str, Any]:
        """The extensions an upload may have, and those accepted only zipped."""
        answer = await self._backend.unary(
            self._backend.stub.GetUploadFormats, pb.GetUploadFormatsRequest()
        )
        return to_json(answer)

    async def slides(self) -> list[dict[str, Any]]:
        """Every slide, newest first."""
        backend = self._backend
        response = await backend.unary(backend.stub.ListSlides, pb.ListSlidesRequest())
        return [slide_json(slide) for slide in response.slides]

    async def slide(self, slide_id: str) -> dict[str, Any]:
        backend = self._backend
        request = pb.GetSlideRequest(slide_id=slide_id)
        return slide_json((await backend.unary(backend.stub.GetSlide, request)).slide)

    async def delete(self, slide_id: str) -> None:
        backend = self._backend
        await backend.unary(backend.stub.DeleteSlide, pb.DeleteSlideRequest(slide_id=slide_id))

    async def properties(self, slide_id: str) -> dict[str, Any]:
        backend = self._backend
        request = pb.GetSlidePropertiesRequest(slide_id=slide_id)
        return to_json(await backend.unary(backend.stub.GetSlideProperties, request))

    async def associated_image(self, slide_id: str, name: str, max_size: int) -> tuple[bytes, str]:
        """(image, content type)."""
        backend = self._backend
        request = pb.GetAssociatedImageRequest(slide_id=slide_id, name=name, max_size=max_size)
        response = await backend.unary(backend.stub.GetAssociatedImage, request)
        return response.image, response.content_type

    async def deep_zoom_descriptor(self, slide_id: str) -> str:
        backend = self._backend
        request = pb.GetDeepZoomDescriptorRequest(slide_id=slide_id)
        return (await backend.unary(backend.stub.GetDeepZoomDescriptor, request)).xml

    async def deep_zoom_tile(self, slide_id: str, level: int, col: int, row: int) -> bytes:
        """One JPEG tile (the edge's tile cache sits in front of this)."""
        backend = self._backend
        request = pb.GetDeepZoomTileRequest(slide_id=slide_id, level=level, col=col, row=row)
        return (await backend.unary(backend.stub.GetDeepZoomTile, request)).image

    async def thumbnail(self, slide_id: str, max_size: int) -> bytes:
        backend = self._backend
        request = pb.GetThumbnailRequest(slide_id=slide_id, max_size=max_size)
        return (await backend.unary(backend.stub.GetThumbnail, request)).image

    async def scale_bar(self, slide_id: str, target_um: float, level: int) -> dict[str, Any]:
        backend = self._backend
        request = pb.GetScaleBarRequest(slide_id=slide_id, target_um=target_um, level=level)
        return to_json(await backend.unary(backend.stub.GetScaleBar, request))
