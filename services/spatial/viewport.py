"""Viewport analysis: slides -> inference -> store, as one stream of progress.

The inference service segments the region and streams progress and nuclei;
this relays its progress (repeating the latest at least every
`progress_interval_s`, since a HoVerNet batch on a CPU takes seconds), then
stores box and nuclei in one transaction and sends the stored result. If the
caller leaves, the inference call is cancelled and nothing is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from typing import TypeVar

from common.errors import InvalidArgument
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from micrographia.slides.v1 import slides_pb2
from micrographia.spatial.v1 import spatial_pb2 as pb
from services.spatial.core import Bounds, SpatialStore, viewport_bounds
from services.spatial.messages import box_message, nucleus_message, slide_mpp
from services.spatial.segmentation import nuclei_batch, segment_request

T = TypeVar("T")


def analysis_bounds(request: pb.AnalyzeViewportRequest, slide: slides_pb2.Slide) -> Bounds:
    """The level-0 rectangle to analyse: clamped to the slide, widened to whole
    pixels (the inference service reads whole pixels)."""
    if not 0 <= request.level < max(slide.level_count, 1):
        raise InvalidArgument(
            f"level {request.level} is outside the slide's pyramid (0..{slide.level_count - 1})",
            level=request.level,
        )
    bounds = viewport_bounds(request.x, request.y, request.width, request.height, 1.0)
    clamped = bounds.clamped(slide.width_px, slide.height_px)
    return Bounds(
        math.floor(clamped.x_min),
        math.floor(clamped.y_min),
        min(math.ceil(clamped.x_max), slide.width_px),
        min(math.ceil(clamped.y_max), slide.height_px),
    )


def _progress(current: int, total: int, message: str) -> pb.AnalyzeViewportResponse:
    percentage = current / total * 100 if total else 0.0
    return pb.AnalyzeViewportResponse(
        progress=pb.ViewportProgress(
            current=current, total=total, percentage=percentage, message=message
        )
    )


class ViewportAnalysis:
    """One viewport analysis; iterate `run()` for its messages."""

    def __init__(
        self,
        store: SpatialStore,
        inference: inference_pb2_grpc.InferenceServiceStub,
        slide: slides_pb2.Slide,
        bounds: Bounds,
        request: pb.AnalyzeViewportRequest,
        *,
        inference_timeout_s: float,
        progress_interval_s: float,
    ) -> None:
        self.store = store
        self.inference = inference
        self.slide = slide
        self.bounds = bounds
        self.request = request
        self.inference_timeout_s = inference_timeout_s
        self.interval_s = progress_interval_s
        self.latest = _progress(0, 0, "Reading region")

    async def run(self) -> AsyncIterator[pb.AnalyzeViewportResponse]:
        yield self.latest
        batches: list[inference_pb2.Nucleus] = []
        async for message in self._segment():
            if message is None:
                yield self.latest
            elif message.HasField("progress"):
                p = message.progress
                self.latest = _progress(p.current, p.total, p.message)
                yield self.latest
            elif message.HasField("nuclei"):
                batches.extend(message.nuclei.nuclei)

        total = self.latest.progress.total
        self.latest = _progress(total, total, f"Storing {len(batches)} nuclei")
        yield self.latest
        mpp = slide_mpp(self.slide)
        nuclei = await asyncio.to_thread(nuclei_batch, batches, self.bounds)
        store = asyncio.ensure_future(
            self.store.insert_box(self.slide.id, self.bounds, mpp, nuclei, label=self.request.label)
        )
        async for _ in self._beating(store):
            yield self.latest
        box = store.result()
        stored = await self.store.box_nuclei(box.id)
        yield pb.AnalyzeViewportResponse(
            complete=pb.ViewportComplete(
                box=box_message(box),
                nuclei=[nucleus_message(nucleus) for nucleus in stored],
                count=len(stored),
            )
        )

    async def _segment(self) -> AsyncIterator[inference_pb2.SegmentRegionResponse | None]:
        """The inference stream, with None whenever it stayed quiet for an interval."""
        call = self.inference.SegmentRegion(
            segment_request(self.slide.id, self.bounds, self.request.level),
            timeout=self.inference_timeout_s,
        )
        messages = aiter(call)
        try:
            while True:
                step = asyncio.ensure_future(anext(messages))
                async for _ in self._beating(step):
                    yield None
                try:
                    yield step.result()
                except StopAsyncIteration:
                    return
        finally:
            call.cancel()  # the caller left, or a step failed: stop the inference

    async def _beating(self, task: asyncio.Future[T]) -> AsyncIterator[None]:
        """None every interval until `task` is done; if the caller leaves, the task
        is cancelled and awaited (a store rolls back before we go)."""
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.interval_s)
                if done:
                    return
                yield None
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await task
