"""gRPC servicer of the microscopy service: translates protos to the domain core and back.

Every call that touches files (opening, decoding, encoding PNG, walking folders)
runs in the service's thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

import asyncpg
import grpc
from grpc import aio

from common.jobs.rpc import JobsServicerMixin
from common.jobs.runner import JobRunner
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from micrographia.microscopy.v1 import microscopy_pb2_grpc
from services.microscopy import messages
from services.microscopy.core import feature_catalogue
from services.microscopy.core.render import DEFAULT_HIGH_PERCENTILE, DEFAULT_LOW_PERCENTILE
from services.microscopy.files import MicroscopyFiles
from services.microscopy.recent import RecentFiles

T = TypeVar("T")

logger = logging.getLogger("micrographia.microscopy")


class _HandlerCapture:
    """Stands in for a server to collect the generated code's method handlers."""

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        pass

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self.service, self.handlers = service, dict(handlers)


def add_to_server(servicer: MicroscopyServicer, server: aio.Server) -> None:
    """Register `servicer` as the generated `add_MicroscopyServiceServicer_to_server`
    does, except that ReadFrame's answer, serialized by the servicer, passes as is."""
    capture = _HandlerCapture()
    microscopy_pb2_grpc.add_MicroscopyServiceServicer_to_server(servicer, capture)
    handlers = capture.handlers
    generated = handlers["ReadFrame"]
    handlers["ReadFrame"] = grpc.unary_unary_rpc_method_handler(
        generated.unary_unary,
        request_deserializer=generated.request_deserializer,
        response_serializer=None,  # bytes from read_frame_response_bytes
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(capture.service, handlers),)
    )
    server.add_registered_method_handlers(capture.service, handlers)


class MicroscopyServicer(JobsServicerMixin, microscopy_pb2_grpc.MicroscopyServiceServicer):
    """Files, frames, the explorer and recent files; job RPCs from the mixin.

    StartWorkflow, GetWorkflowResults, MergeResults and GetProcessingConfigSchema
    answer UNIMPLEMENTED until the workflow issue lands.
    `recent` is None when recent-file tracking is off.
    """

    service_name = "microscopy"

    def __init__(
        self,
        jobs: JobRunner,
        files: MicroscopyFiles,
        executor: Executor,
        recent: RecentFiles | None,
    ) -> None:
        self.jobs = jobs
        self._files = files
        self._executor = executor
        self._recent = recent
        self._features = messages.features_message(feature_catalogue())

    async def _blocking(self, function: Callable[..., T], *args: object, **kwargs: object) -> T:
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    # ------------------------------------------------------------ metadata and frames

    async def LoadMetadata(self, request: pb.LoadMetadataRequest, context: aio.ServicerContext):
        metadata = await self._blocking(self._files.metadata, request.file_path)
        if self._recent is not None:
            try:
                await self._recent.record(metadata)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                # The metadata was read: a database hiccup costs the history, not the answer.
                logger.warning("could not record %s as recent", metadata.file_path, exc_info=True)
        return pb.LoadMetadataResponse(metadata=messages.metadata_message(metadata))

    async def ListFeatures(self, request: pb.ListFeaturesRequest, context: aio.ServicerContext):
        return self._features

    async def ReadFrame(self, request: pb.ReadFrameRequest, context: aio.ServicerContext) -> bytes:
        """Answers the ReadFrameResponse already serialized (registered without a
        serializer, see `add_to_server`): the pixels are copied once, in a worker thread."""
        return await self._blocking(self._serialized_frame, request.frame)

    def _serialized_frame(self, address: pb.FrameAddress) -> bytes:
        frame = self._files.read_frame(
            address.file_path, address.fov, address.t, address.channel, address.z
        )
        return messages.read_frame_response_bytes(frame)

    async def RenderFrame(self, request: pb.RenderFrameRequest, context: aio.ServicerContext):
        address = request.frame
        rendered = await self._blocking(
            self._files.render_frame,
            address.file_path,
            address.fov,
            address.t,
            address.channel,
            address.z,
            low_percentile=(
                request.low_percentile
                if request.HasField("low_percentile")
                else DEFAULT_LOW_PERCENTILE
            ),
            high_percentile=(
                request.high_percentile
                if request.HasField("high_percentile")
                else DEFAULT_HIGH_PERCENTILE
            ),
            max_size=request.max_size,
        )
        return pb.RenderFrameResponse(**rendered._asdict())

    # ------------------------------------------------------------ file explorer

    async def ListDirectory(self, request: pb.ListDirectoryRequest, context: aio.ServicerContext):
        listing = await self._blocking(
            self._files.explorer.list_directory,
            request.directory_path,
            include_hidden=request.include_hidden,
            filter_extensions=list(request.filter_extensions),
            sort_by=messages.sort_key(request.sort_by),
            sort_order=messages.sort_order(request.sort_order),
        )
        return messages.listing_message(listing)

    async def SearchFiles(self, request: pb.SearchFilesRequest, context: aio.ServicerContext):
        result = await self._blocking(
            self._files.explorer.search_files,
            request.search_path,
            pattern=request.pattern,
            extensions=list(request.extensions),
            max_depth=request.max_depth if request.HasField("max_depth") else None,
            include_hidden=request.include_hidden,
            case_sensitive=request.case_sensitive,
            limit=request.limit,
        )
        return messages.search_message(result)

    async def GetFileInfo(self, request: pb.GetFileInfoRequest, context: aio.ServicerContext):
        info = await self._blocking(self._files.explorer.file_info, request.file_path)
        return messages.file_info_message(info)

    async def ListRecentFiles(
        self, request: pb.ListRecentFilesRequest, context: aio.ServicerContext
    ):
        if self._recent is None:
            return pb.ListRecentFilesResponse(tracked=False)
        recent = await self._recent.newest(request.limit, request.extensions)
        return pb.ListRecentFilesResponse(
            recent_files=[messages.recent_message(item) for item in recent], tracked=True
        )
