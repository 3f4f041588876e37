"""/api/slides: the slide registry, Deep Zoom tiles, thumbnails and scale bars
(slidekick-api.md, "Slides"). Plain JSON bodies, Slidekick's status codes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from common import errors
from edge.dependencies import BackendsDep, TileCacheDep
from edge.errors import ApiError, BackendError
from edge.fields import Int32
from edge.multipart import MultipartFile
from edge.openapi import PydanticJSONResponse, binary_body, proto_body
from edge.protojson import to_json
from micrographia.slides.v1 import slides_pb2 as pb

router = APIRouter(prefix="/api/slides", tags=["slides"])

# Tiles and thumbnails of a slide never change (a slide is immutable once stored).
IMAGE_CACHE = {"Cache-Control": "public, max-age=86400"}
UPLOAD_MESSAGE_BYTES = 1024 * 1024


def slide_json(slide: pb.Slide) -> dict[str, Any]:
    return to_json(slide)


@router.post(
    "/upload",
    status_code=201,
    summary="Upload a whole-slide image (multipart field `file`), streamed to the slides service",
    responses=proto_body(pb.Slide, status=201),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_slide(request: Request, backends: BackendsDep) -> JSONResponse:
    upload = MultipartFile(request, "file")
    filename = await upload.open()
    if not filename:
        raise ApiError(400, errors.INVALID_PARAMETERS, "The upload has no filename")
    header = pb.UploadSlideHeader(filename=filename)
    # The service judges the name before a byte of the file is read, and says how
    # much it accepts.
    check = await backends.slides.CheckUpload(pb.CheckUploadRequest(header=header))
    body = UploadBody(upload.chunks(), check.max_upload_bytes)
    try:
        response = await backends.slides.UploadSlide(
            body.messages(header), timeout=backends.settings.stream_timeout_s
        )
    except (asyncio.CancelledError, BackendError):
        body.raise_failure()
        raise
    return JSONResponse(slide_json(response.slide), status_code=201)


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


@router.get(
    "/",
    summary="All slides, newest first",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.Slide, many=True),
)
async def list_slides(backends: BackendsDep) -> list[dict[str, Any]]:
    response = await backends.slides.ListSlides(pb.ListSlidesRequest())
    return [slide_json(slide) for slide in response.slides]


@router.get(
    "/{slide_id}",
    summary="One slide",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.Slide),
)
async def get_slide(slide_id: uuid.UUID, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.slides.GetSlide(pb.GetSlideRequest(slide_id=str(slide_id)))
    return slide_json(response.slide)


@router.delete("/{slide_id}", status_code=204, summary="Delete a slide, its caches and analyses")
async def delete_slide(slide_id: uuid.UUID, backends: BackendsDep, tiles: TileCacheDep) -> Response:
    await backends.slides.DeleteSlide(pb.DeleteSlideRequest(slide_id=str(slide_id)))
    tiles.drop_slide(str(slide_id))
    return Response(status_code=204)


@router.get(
    "/{slide_id}/properties",
    summary="Vendor properties and associated images",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetSlidePropertiesResponse),
)
async def slide_properties(slide_id: uuid.UUID, backends: BackendsDep) -> dict[str, Any]:
    response = await backends.slides.GetSlideProperties(
        pb.GetSlidePropertiesRequest(slide_id=str(slide_id))
    )
    return to_json(response)


@router.get(
    "/{slide_id}/associated/{name}",
    summary="An associated image (label, macro, ...)",
    response_class=Response,
    responses=binary_body("image/jpeg"),
)
async def associated_image(
    slide_id: uuid.UUID,
    name: str,
    backends: BackendsDep,
    max_size: Annotated[Int32, Query(ge=0, le=8192)] = 0,
) -> Response:
    response = await backends.slides.GetAssociatedImage(
        pb.GetAssociatedImageRequest(slide_id=str(slide_id), name=name, max_size=max_size)
    )
    return Response(response.image, media_type=response.content_type, headers=IMAGE_CACHE)


@router.get(
    "/{slide_id}/dzi",
    summary="Deep Zoom descriptor for OpenSeadragon",
    response_class=Response,
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def dzi(slide_id: uuid.UUID, backends: BackendsDep) -> Response:
    response = await backends.slides.GetDeepZoomDescriptor(
        pb.GetDeepZoomDescriptorRequest(slide_id=str(slide_id))
    )
    return Response(response.xml, media_type="application/xml")


@router.get(
    "/{slide_id}/dzi_files/{level}/{col}_{row}.jpeg",
    summary="One Deep Zoom tile",
    response_class=Response,
    responses=binary_body("image/jpeg"),
)
async def dzi_tile(
    slide_id: uuid.UUID,
    level: Int32,
    col: Int32,
    row: Int32,
    backends: BackendsDep,
    tiles: TileCacheDep,
) -> Response:
    key = (str(slide_id), level, col, row)
    image = tiles.get(key)
    if image is None:
        response = await backends.slides.GetDeepZoomTile(
            pb.GetDeepZoomTileRequest(slide_id=key[0], level=level, col=col, row=row)
        )
        image = response.image
        tiles.put(key, image)
    return Response(image, media_type="image/jpeg", headers=IMAGE_CACHE)


@router.get(
    "/{slide_id}/thumbnail",
    summary="JPEG thumbnail, cached on disk",
    response_class=Response,
    responses=binary_body("image/jpeg"),
)
async def thumbnail(
    slide_id: uuid.UUID,
    backends: BackendsDep,
    max_size: Annotated[Int32, Query(ge=1, le=4096)] = 200,
) -> Response:
    response = await backends.slides.GetThumbnail(
        pb.GetThumbnailRequest(slide_id=str(slide_id), max_size=max_size)
    )
    return Response(response.image, media_type="image/jpeg", headers=IMAGE_CACHE)


@router.get(
    "/{slide_id}/scale-bar",
    summary="Pixels spanning a distance",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetScaleBarResponse),
)
async def scale_bar(
    slide_id: uuid.UUID,
    backends: BackendsDep,
    target_um: Annotated[float, Query(gt=0)] = 100.0,
    level: Annotated[Int32, Query(ge=0)] = 0,
) -> dict[str, Any]:
    response = await backends.slides.GetScaleBar(
        pb.GetScaleBarRequest(slide_id=str(slide_id), target_um=target_um, level=level)
    )
    return to_json(response)
