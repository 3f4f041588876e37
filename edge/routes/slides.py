"""/api/slides: the slide registry, Deep Zoom tiles, thumbnails and scale bars
(slidekick-api.md, "Slides"), over `SlidesClient`. Plain JSON bodies, Slidekick's
status codes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from common import errors
from edge.dependencies import ClientsDep, TileCacheDep
from edge.errors import ApiError
from edge.fields import Int32
from edge.multipart import MultipartFile
from edge.openapi import PydanticJSONResponse, binary_body, proto_body
from micrographia.slides.v1 import slides_pb2 as pb

router = APIRouter(prefix="/api/slides", tags=["slides"])

# Tiles and thumbnails of a slide never change (a slide is immutable once stored).
IMAGE_CACHE = {"Cache-Control": "public, max-age=86400"}


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
async def upload_slide(request: Request, clients: ClientsDep) -> JSONResponse:
    upload = MultipartFile(request, "file")
    filename = await upload.open()
    if not filename:
        raise ApiError(400, errors.INVALID_PARAMETERS, "The upload has no filename")
    return JSONResponse(await clients.slides.upload(filename, upload.chunks()), status_code=201)


@router.get(
    "/formats",
    summary="The file extensions an upload may have, from the slides service's own list",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetUploadFormatsResponse),
)
async def upload_formats(clients: ClientsDep) -> dict[str, Any]:
    return await clients.slides.upload_formats()


@router.get(
    "/",
    summary="All slides, newest first",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.Slide, many=True),
)
async def list_slides(clients: ClientsDep) -> list[dict[str, Any]]:
    return await clients.slides.slides()


@router.get(
    "/{slide_id}",
    summary="One slide",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.Slide),
)
async def get_slide(slide_id: uuid.UUID, clients: ClientsDep) -> dict[str, Any]:
    return await clients.slides.slide(str(slide_id))


@router.delete("/{slide_id}", status_code=204, summary="Delete a slide, its caches and analyses")
async def delete_slide(slide_id: uuid.UUID, clients: ClientsDep, tiles: TileCacheDep) -> Response:
    await clients.slides.delete(str(slide_id))
    tiles.drop_slide(str(slide_id))
    return Response(status_code=204)


@router.get(
    "/{slide_id}/properties",
    summary="Vendor properties and associated images",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetSlidePropertiesResponse),
)
async def slide_properties(slide_id: uuid.UUID, clients: ClientsDep) -> dict[str, Any]:
    return await clients.slides.properties(str(slide_id))


@router.get(
    "/{slide_id}/associated/{name}",
    summary="An associated image (label, macro, ...)",
    response_class=Response,
    responses=binary_body("image/jpeg"),
)
async def associated_image(
    slide_id: uuid.UUID,
    name: str,
    clients: ClientsDep,
    max_size: Annotated[Int32, Query(ge=0, le=8192)] = 0,
) -> Response:
    image, content_type = await clients.slides.associated_image(str(slide_id), name, max_size)
    return Response(image, media_type=content_type, headers=IMAGE_CACHE)


@router.get(
    "/{slide_id}/dzi",
    summary="Deep Zoom descriptor for OpenSeadragon",
    response_class=Response,
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def dzi(slide_id: uuid.UUID, clients: ClientsDep) -> Response:
    xml = await clients.slides.deep_zoom_descriptor(str(slide_id))
    return Response(xml, media_type="application/xml")


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
    clients: ClientsDep,
    tiles: TileCacheDep,
) -> Response:
    key = (str(slide_id), level, col, row)
    image = tiles.get(key)
    if image is None:
        image = await clients.slides.deep_zoom_tile(key[0], level, col, row)
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
    clients: ClientsDep,
    max_size: Annotated[Int32, Query(ge=1, le=4096)] = 200,
) -> Response:
    image = await clients.slides.thumbnail(str(slide_id), max_size)
    return Response(image, media_type="image/jpeg", headers=IMAGE_CACHE)


@router.get(
    "/{slide_id}/scale-bar",
    summary="Pixels spanning a distance",
    response_model=None,
    response_class=PydanticJSONResponse,
    responses=proto_body(pb.GetScaleBarResponse),
)
async def scale_bar(
    slide_id: uuid.UUID,
    clients: ClientsDep,
    target_um: Annotated[float, Query(gt=0)] = 100.0,
    level: Annotated[Int32, Query(ge=0)] = 0,
) -> dict[str, Any]:
    return await clients.slides.scale_bar(str(slide_id), target_um, level)
