"""gRPC servicer of the inference service: translates protos to the domain core and back.

SegmentRegion and SegmentFrames follow grpc's examples/python/cancellation: the work runs in a
worker thread and watches a `threading.Event`; when the caller cancels or goes
away, the handler's task is cancelled, sets the event, and the pipeline stops
before its next batch and frees the device.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Executor

from grpc import aio

from common import errors
from common.workers import Workers
from micrographia.inference.v1 import inference_pb2 as pb
from micrographia.inference.v1 import inference_pb2_grpc
from services.inference.core import (
    Event,
    NucleiFound,
    Progress,
    SegmentationConfig,
    Summary,
    plan_region,
    segment_region,
)
from services.inference.core.cellpose import (
    CellposeHost,
    FrameLabels,
    FramesConfig,
    FramesSummary,
    check_frames,
    segment_frames,
)
from services.inference.core.host import ModelHost
from services.inference.messages import (
    cellpose_options,
    frame_array,
    frame_labels_message,
    frames_progress_message,
    frames_summary_message,
    nucleus_message,
    progress_message,
    summary_message,
)
from services.inference.slide_reader import SlideClient, blocking_reader

# Nuclei per NucleusBatch message (a tile may hold thousands).
NUCLEI_PER_MESSAGE = 500
_DONE = object()


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(
        self,
        host: ModelHost,
        slides: SlideClient,
        workers: Workers,
        config: SegmentationConfig,
        progress_interval_s: float = 0.3,
        *,
        cellpose: CellposeHost | None = None,
        frames_config: FramesConfig | None = None,
    ) -> None:
        self.host = host
        self.slides = slides
        self.workers = workers
        self.config = config
        self.progress_interval_s = progress_interval_s
        # Worker processes for post-processing (MICROGRAPHIA_INFERENCE_POSTPROCESS_PROCESSES);
        # None: threads of each request.
        self.postprocess: Executor | None = None
        self.cellpose = cellpose or CellposeHost("random")
        self.frames_config = frames_config or FramesConfig()

    async def GetModelInfo(
        self, request: pb.GetModelInfoRequest, context: aio.ServicerContext
    ) -> pb.GetModelInfoResponse:
        spec = self.host.spec
        return pb.GetModelInfoResponse(
            model_name=spec.name,
            weights=self.host.weights,
            loaded=self.host.loaded,
            device=self.host.device,
            patch_input_size=spec.patch_input,
            patch_output_size=spec.patch_output,
            cell_types=[pb.CellType(id=i, name=name) for i, name in enumerate(spec.type_names)],
            batch_size=self.config.batch_size,
            error=self.host.error,
            mpp=spec.mpp,
            mode=spec.mode,
        )

    async def SegmentRegion(
        self, request: pb.SegmentRegionRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.SegmentRegionResponse]:
        predictor = self.host.require()
        slide = await self.slides.facts(request.slide_id)
        # Every check before any work: empty, outside, too large.
        plan = plan_region(
            slide,
            request.x,
            request.y,
            request.width,
            request.height,
            self.host.spec,
            self.config,
        )
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def run() -> None:
            try:
                segment_region(
                    plan,
                    slide,
                    self.host.spec,
                    predictor,
                    blocking_reader(self.slides, request.slide_id, loop),
                    self.config,
                    emit,
                    cancelled,
                    self.postprocess,
                )
            finally:
                loop.call_soon_threadsafe(events.put_nowait, _DONE)
                if cancelled.is_set() and hasattr(predictor, "release"):
                    predictor.release()

        work = asyncio.ensure_future(self.workers.run(run))
        latest = progress_message(Progress(0, plan.most_patches, "Starting"))
        try:
            while True:
                try:
                    event = await asyncio.wait_for(events.get(), self.progress_interval_s)
                except TimeoutError:
                    yield latest  # a heartbeat: progress at least every interval
                    continue
                if event is _DONE:
                    break
                if isinstance(event, Progress):
                    latest = progress_message(event)
                    yield latest
                elif isinstance(event, NucleiFound):
                    for start in range(0, len(event.nuclei), NUCLEI_PER_MESSAGE):
                        chunk = event.nuclei[start : start + NUCLEI_PER_MESSAGE]
                        yield pb.SegmentRegionResponse(
                            nuclei=pb.NucleusBatch(
                                nuclei=[nucleus_message(n, request.include_contours) for n in chunk]
                            )
                        )
                elif isinstance(event, Summary):
                    yield summary_message(event)
            await work  # raises what the pipeline raised
        finally:
            # The caller cancelled, left, or the stream ended: stop the work within a batch.
            cancelled.set()
            if not work.done():
                work.add_done_callback(_consume)

    async def GetCellposeInfo(
        self, request: pb.GetCellposeInfoRequest, context: aio.ServicerContext
    ) -> pb.GetCellposeInfoResponse:
        cellpose = self.cellpose
        error = cellpose.error or (
            "" if cellpose.checked else "Cellpose's weights are being looked for"
        )
        return pb.GetCellposeInfoResponse(
            model=cellpose.model,
            weights=cellpose.weights,
            available=cellpose.available,
            loaded=cellpose.loaded,
            device=cellpose.device,
            batch_size=self.frames_config.batch_size,
            error=error if not cellpose.available else "",
            setting=cellpose.setting,
        )

    async def SegmentFrames(
        self, request: pb.SegmentFramesRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.SegmentFramesResponse]:
        # Every check before any work: options, frames, weights.
        options = cellpose_options(request.options)
        if options.model and options.model != self.cellpose.model:
            raise errors.FailedPrecondition(
                f"Cellpose model {options.model!r} is not served here; this service serves "
                f"{self.cellpose.model!r} ({self.cellpose.setting})",
                setting=self.cellpose.setting,
            )
        frames = [frame_array(frame, index) for index, frame in enumerate(request.frames)]
        total = check_frames([frame.shape for frame in frames], options, self.frames_config)
        if not self.cellpose.available:
            if not self.cellpose.checked:
                raise errors.Unavailable(
                    "Cellpose's weights are being looked for; try again shortly"
                )
            raise self.cellpose.unavailable()
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[object] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(event: object) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def run() -> None:
            predictor = None
            try:
                predictor = self.cellpose.load()  # built on first use where not preloaded
                segment_frames(frames, options, predictor, self.frames_config, emit, cancelled)
            finally:
                loop.call_soon_threadsafe(events.put_nowait, _DONE)
                if cancelled.is_set() and hasattr(predictor, "release"):
                    predictor.release()

        work = asyncio.ensure_future(self.workers.run(run))
        latest = frames_progress_message(Progress(0, total, "Starting"))
        try:
            while True:
                try:
                    event = await asyncio.wait_for(events.get(), self.progress_interval_s)
                except TimeoutError:
                    yield latest  # a heartbeat: progress at least every interval
                    continue
                if event is _DONE:
                    break
                if isinstance(event, Progress):
                    latest = frames_progress_message(event)
                    yield latest
                elif isinstance(event, FrameLabels):
                    yield frame_labels_message(event)
                elif isinstance(event, FramesSummary):
                    yield frames_summary_message(event)
            await work  # raises what the pipeline raised
        finally:
            cancelled.set()
            if not work.done():
                work.add_done_callback(_consume)


def _consume(future: asyncio.Future) -> None:
    with contextlib.suppress(BaseException):
        future.result()
