"""Viewport analysis: slides -> inference -> store, as one stream of progress.

The inference service segments the region and streams progress and nuclei;
this relays a progress message whenever something changes (a phase begins, a
batch is done), never to fill time: the inference service's own heartbeats
repeat what was said and are dropped, and the edge keeps a quiet stream open
with keep-alive comments. Then box and nuclei are stored in one transaction and
the stored result sent. If the caller leaves, the inference call is cancelled
and nothing is stored; a slide deleted meanwhile fails the analysis.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc

from common.errors import NotFound
from common.rpc_errors import named_peer_failure
from micrographia.inference.v1 import inference_pb2, inference_pb2_grpc
from micrographia.slides.v1 import slides_pb2
from micrographia.spatial.v1 import spatial_pb2 as pb
from services.spatial.core import Bounds, SpatialStore, viewport_bounds
from services.spatial.messages import box_message, nucleus_message, slide_mpp
from services.spatial.segmentation import nuclei_batch, segment_request


def analysis_bounds(request: pb.AnalyzeViewportRequest, slide: slides_pb2.Slide) -> Bounds:
    """The level-0 rectangle to analyse: clamped to the slide, widened to whole
    pixels (the inference service reads whole pixels)."""
    bounds = viewport_bounds(request.x, request.y, request.width, request.height, request.level)
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
        slide_exists: Callable[[], Awaitable[bool]],
    ) -> None:
        self.store = store
        self.inference = inference
        self.slide = slide
        self.bounds = bounds
        self.request = request
        self.inference_timeout_s = inference_timeout_s
        self.slide_exists = slide_exists

    async def run(self) -> AsyncIterator[pb.AnalyzeViewportResponse]:
        latest = _progress(0, 0, "Reading region")
        yield latest
        batches: list[inference_pb2.Nucleus] = []
        call = self.inference.SegmentRegion(
            segment_request(self.slide.id, self.bounds, self.request.level),
            timeout=self.inference_timeout_s,
        )
        try:
            async for message in call:
                if message.HasField("progress"):
                    p = message.progress
                    update = _progress(p.current, p.total, p.message)
                    if update != latest:  # a heartbeat repeats the latest: dropped
                        latest = update
                        yield latest
                elif message.HasField("nuclei"):
                    batches.extend(message.nuclei.nuclei)
        except grpc.RpcError as error:
            raise named_peer_failure(error, "inference") from None
        finally:
            call.cancel()  # the caller left, or a step failed: stop the inference

        nuclei = await asyncio.to_thread(nuclei_batch, batches, self.bounds)
        total = latest.progress.total
        yield _progress(total, total, f"Storing {len(nuclei.x)} nuclei")
        # The slide may have been deleted (with its analyses) while it was segmented.
        if not await self.slide_exists():
            raise NotFound(
                "the slide was deleted during the analysis; nothing was stored",
                slide_id=self.slide.id,
            )
        # Cancelled with the caller, the transaction rolls back before this ends.
        box = await self.store.insert_box(
            self.slide.id, self.bounds, slide_mpp(self.slide), nuclei, label=self.request.label
        )
        stored = await self.store.box_nuclei(box.id)
        yield pb.AnalyzeViewportResponse(
            complete=pb.ViewportComplete(
                box=box_message(box),
                nuclei=[nucleus_message(nucleus) for nucleus in stored],
                count=len(stored),
            )
        )
