"""gRPC servicer of the slides service: translates protos to the domain core and back.

Every blocking core call (OpenSlide, JPEG, disk) goes through `Workers`, never
the event loop. Failures are the core's `ServiceError`s; the error interceptor
turns them into statuses (services/slides/core/README.md lists which).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import asdict

import grpc
from grpc import aio

from common.errors import InvalidArgument, Unavailable
from common.workers import Workers
from micrographia.slides.v1 import slides_pb2 as pb
from micrographia.slides.v1 import slides_pb2_grpc
from micrographia.spatial.v1 import spatial_pb2, spatial_pb2_grpc
from services.slides.core import SlideLibrary, SlideRecord
from services.slides.core.formats import ACCEPTED_UPLOAD_EXTENSIONS, MULTI_FILE_EXTENSIONS
from services.slides.core.registry import SlideRegistry
from services.slides.messages import region_header_message, slide_message

logger = logging.getLogger("micrographia.slides")


class SlidesServicer(slides_pb2_grpc.SlidesServiceServicer):
    def __init__(
        self,
        library: SlideLibrary,
        registry: SlideRegistry,
        workers: Workers,
        spatial: Callable[[], spatial_pb2_grpc.SpatialServiceStub],
        peer_timeout_s: float = 10.0,
    ) -> None:
        self.library = library
        self.registry = registry
        self.workers = workers
        # A factory: the peer's channel opens on first use, once its address is known.
        self.spatial = spatial
        self.peer_timeout_s = peer_timeout_s

    def _message(self, record: SlideRecord) -> pb.Slide:
        return slide_message(record, self.library.config.assumed_mpp)

    # Registry ------------------------------------------------------------------

    async def CheckUpload(
        self, request: pb.CheckUploadRequest, context: aio.ServicerContext
    ) -> pb.CheckUploadResponse:
        header = request.header
        store = self.library.store
        filename = store.check_upload(
            header.filename, header.size_bytes if header.HasField("size_bytes") else None
        )
        return pb.CheckUploadResponse(filename=filename, max_upload_bytes=store.max_upload_bytes)

    async def GetUploadFormats(
        self, request: pb.GetUploadFormatsRequest, context: aio.ServicerContext
    ) -> pb.GetUploadFormatsResponse:
        return pb.GetUploadFormatsResponse(
            extensions=ACCEPTED_UPLOAD_EXTENSIONS, zipped_extensions=MULTI_FILE_EXTENSIONS
        )

    async def UploadSlide(
        self, request_iterator: AsyncIterable[pb.UploadSlideRequest], context: aio.ServicerContext
    ) -> pb.UploadSlideResponse:
        messages = aiter(request_iterator)
        header = await _upload_header(messages)
        record = await self.library.receive_upload(
            header.filename,
            _upload_chunks(messages),
            header.size_bytes if header.HasField("size_bytes") else None,
            run=self.workers.run,
        )
        return pb.UploadSlideResponse(slide=self._message(await self._register(record)))

    async def _register(self, record: SlideRecord) -> SlideRecord:
        """Insert the row of a slide now on disk; if that fails or the caller
        leaves meanwhile, remove row and files again, so no half slide stays."""
        insert = asyncio.ensure_future(self.registry.insert(record))
        try:
            return await asyncio.shield(insert)
        except BaseException:
            with contextlib.suppress(Exception):
                await insert  # an insert still running may yet add the row
                await self.registry.delete(record.id)
            await self.workers.run(self.library.delete, record.id)
            raise

    async def ListSlides(
        self, request: pb.ListSlidesRequest, context: aio.ServicerContext
    ) -> pb.ListSlidesResponse:
        records = await self.registry.list()
        return pb.ListSlidesResponse(slides=[self._message(record) for record in records])

    async def GetSlide(
        self, request: pb.GetSlideRequest, context: aio.ServicerContext
    ) -> pb.GetSlideResponse:
        return pb.GetSlideResponse(slide=self._message(await self.registry.get(request.slide_id)))

    async def DeleteSlide(
        self, request: pb.DeleteSlideRequest, context: aio.ServicerContext
    ) -> pb.DeleteSlideResponse:
        """Analyses first (they refer to the slide), then the row, then files and caches.

        If the spatial service cannot be reached nothing is deleted, so a slide
        never disappears while its analyses stay behind.
        """
        record = await self.registry.get(request.slide_id)
        deleted_boxes = await self._delete_analyses(record.id)
        await self.registry.delete(record.id)
        await self.workers.run(self.library.delete, record.id)
        return pb.DeleteSlideResponse(deleted_boxes=deleted_boxes)

    async def _delete_analyses(self, slide_id: str) -> int:
        request = spatial_pb2.DeleteSlideAnalysesRequest(slide_id=slide_id)
        spatial = self.spatial()
        try:
            response = await spatial.DeleteSlideAnalyses(request, timeout=self.peer_timeout_s)
        except grpc.RpcError as error:
            code = error.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                # gRPC's details name the peer's internal address: the log keeps them.
                logger.warning(
                    "slide %s not deleted: spatial answered %s: %s",
                    slide_id,
                    code.name,
                    error.details(),
                )
                raise Unavailable(
                    f"Slide {slide_id} was not deleted: the spatial service, which must "
                    "delete its analyses first, is unavailable; try again later",
                    service="spatial",
                    slide_id=slide_id,
                ) from None
            raise
        return response.deleted_boxes

    # Reading ---------------------------------------------------------------------

    async def GetSlideProperties(
        self, request: pb.GetSlidePropertiesRequest, context: aio.ServicerContext
    ) -> pb.GetSlidePropertiesResponse:
        properties = await self.workers.run(self.library.properties, request.slide_id)
        return pb.GetSlidePropertiesResponse(**asdict(properties))

    async def GetAssociatedImage(
        self, request: pb.GetAssociatedImageRequest, context: aio.ServicerContext
    ) -> pb.GetAssociatedImageResponse:
        image = await self.workers.run(
            self.library.associated_image, request.slide_id, request.name, request.max_size
        )
        return pb.GetAssociatedImageResponse(**asdict(image))

    async def GetDeepZoomDescriptor(
        self, request: pb.GetDeepZoomDescriptorRequest, context: aio.ServicerContext
    ) -> pb.GetDeepZoomDescriptorResponse:
        descriptor = await self.workers.run(self.library.deepzoom_descriptor, request.slide_id)
        return pb.GetDeepZoomDescriptorResponse(**asdict(descriptor))

    async def GetDeepZoomTile(
        self, request: pb.GetDeepZoomTileRequest, context: aio.ServicerContext
    ) -> pb.GetDeepZoomTileResponse:
        address = (request.slide_id, request.level, request.col, request.row)
        # A cached tile is a dictionary lookup: no thread hop for it.
        tile = self.library.cached_tile(*address)
        if tile is None:
            tile = await self.workers.run(self.library.deepzoom_tile, *address)
        return pb.GetDeepZoomTileResponse(image=tile.image, content_type=tile.content_type)

    async def GetThumbnail(
        self, request: pb.GetThumbnailRequest, context: aio.ServicerContext
    ) -> pb.GetThumbnailResponse:
        thumbnail = await self.workers.run(
            self.library.thumbnail, request.slide_id, request.max_size or None
        )
        return pb.GetThumbnailResponse(**asdict(thumbnail))

    async def GetScaleBar(
        self, request: pb.GetScaleBarRequest, context: aio.ServicerContext
    ) -> pb.GetScaleBarResponse:
        target_um = request.target_um if request.HasField("target_um") else None
        bar = await self.workers.run(
            self.library.scale_bar, request.slide_id, target_um, request.level
        )
        return pb.GetScaleBarResponse(**asdict(bar))

    async def ReadRegion(
        self, request: pb.ReadRegionRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.ReadRegionResponse]:
        """Header first (every check done), then the RGB bytes, one bounded chunk at a time."""
        region = await self.workers.run(
            self.library.open_region,
            request.slide_id,
            request.x,
            request.y,
            request.width,
            request.height,
            request.level,
        )
        yield pb.ReadRegionResponse(header=region_header_message(region.header))
        async for chunk in self.workers.iterate(region.chunks):
            yield pb.ReadRegionResponse(chunk=chunk)


async def _upload_header(messages: AsyncIterator[pb.UploadSlideRequest]) -> pb.UploadSlideHeader:
    """The first message of an upload, which must be its header."""
    first = await anext(messages, None)
    if first is None or first.WhichOneof("payload") != "header":
        raise InvalidArgument("an upload must start with a header message naming the file")
    return first.header


async def _upload_chunks(messages: AsyncIterator[pb.UploadSlideRequest]) -> AsyncIterator[bytes]:
    """The data chunks after the header; a second header is a broken stream."""
    async for message in messages:
        if message.WhichOneof("payload") != "chunk":
            raise InvalidArgument("an upload carries one header, then only data chunks")
        yield message.chunk
