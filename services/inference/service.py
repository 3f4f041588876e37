"""The inference service: HoVerNet on slide regions, pixels from the slides service."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from grpc import aio

from common.server import GrpcService
from common.workers import Workers
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from micrographia.slides.v1 import slides_pb2_grpc
from services.inference.core.cellpose import CellposeHost
from services.inference.core.cellpose.weights import RANDOM
from services.inference.core.host import ModelHost
from services.inference.core.model import select_device
from services.inference.core.runtime import ServiceRuntime
from services.inference.core.segmentation import postprocess_pool
from services.inference.servicer import InferenceServicer
from services.inference.settings import WEIGHTS_SETTING, InferenceSettings
from services.inference.slide_reader import SlideClient

logger = logging.getLogger("micrographia.inference")

# Requests segmenting at once (each holds one pipeline thread; the device is shared).
CONCURRENT_REGIONS = 4


class InferenceService(GrpcService):
    name = "inference"
    service_names = (inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name,)

    async def setup(self, server: aio.Server) -> None:
        settings: InferenceSettings = self.context.server  # type: ignore[assignment]
        self.settings = settings
        # One runtime choice for every model the service serves.
        runtime = ServiceRuntime(settings.runtime, settings.cpu_precision, settings.cache_dir)
        self.host = ModelHost(
            settings.spec(),
            self.context.platform.inference_weights,
            WEIGHTS_SETTING,
            device=settings.device,
            precision=settings.precision,
            runtime=runtime,
        )
        self.workers = Workers(CONCURRENT_REGIONS + 1, "inference")
        self.servicer = InferenceServicer(
            self.host,
            SlideClient(
                lambda: slides_pb2_grpc.SlidesServiceStub(self.context.channel("slides")),
                settings.peer_timeout_s,
            ),
            self.workers,
            settings.segmentation_config(settings.device or "cpu"),
            settings.progress_interval_s,
            cellpose=CellposeHost(self.context.platform.cellpose_weights, settings.device, runtime),
            frames_config=settings.frames_config(settings.device or "cpu"),
        )
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(self.servicer, server)

    async def ready(self) -> None:
        """Load the model once, in a worker thread; health says SERVING only after it.

        Weights that cannot be had leave health NOT_SERVING; GetModelInfo and
        every request say why.
        """
        # Cellpose is found (a named model may be downloaded) and built beside HoVerNet,
        # without holding up HoVerNet's readiness; without weights it keeps the reason.
        self._cellpose_task = asyncio.ensure_future(self.workers.run(self._load_cellpose))
        await self.workers.run(self.host.load)
        # The batch size follows the device the model landed on.
        self.servicer.config = self.settings.segmentation_config(self.host.device)
        if self.settings.postprocess_processes:
            self.servicer.postprocess = await self.workers.run(
                postprocess_pool, self.settings.postprocess_processes
            )

    def _load_cellpose(self) -> None:
        """Find Cellpose's weights and build its network (random ones: on first use)."""
        cellpose = self.servicer.cellpose
        cellpose.check()
        if cellpose.available and cellpose.weights != RANDOM:
            with contextlib.suppress(Exception):  # the host keeps why
                cellpose.load()
        self.servicer.frames_config = self.settings.frames_config(
            cellpose.device or select_device(self.settings.device or None)
        )

    async def close(self) -> None:
        if getattr(self, "_cellpose_task", None) is not None:
            self._cellpose_task.cancel()
        self.workers.close(wait=False)
        if self.servicer.postprocess is not None:
            self.servicer.postprocess.shutdown(wait=False, cancel_futures=True)
