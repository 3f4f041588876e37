"""Slide facts and pixels from the slides service.

`SlideClient` is async (the servicer's loop). `blocking_reader` adapts it to
the core's blocking `LevelReader`, for the pipeline's reader thread. A slides
service that cannot be reached is named as the dependency that is down, so a
caller waits for the right service (and retries) rather than blame inference.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import grpc
import numpy as np

from common.errors import Unavailable
from common.rpc_errors import RpcFailure
from micrographia.slides.v1 import slides_pb2 as pb
from micrographia.slides.v1 import slides_pb2_grpc
from services.inference.core import SlideFacts
from services.inference.core.pixels import LevelReader


class SlideClient:
    def __init__(self, stub: Callable[[], slides_pb2_grpc.SlidesServiceStub], timeout_s: float):
        # A factory: the peer's channel opens on first use, once its address is known.
        self.stub = stub
        self.timeout_s = timeout_s

    async def facts(self, slide_id: str) -> SlideFacts:
        with _slides_outage_named():
            response = await self.stub().GetSlide(
                pb.GetSlideRequest(slide_id=slide_id), timeout=self.timeout_s
            )
        slide = response.slide
        return SlideFacts(
            width=slide.width_px,
            height=slide.height_px,
            mpp=slide.mpp if slide.HasField("mpp") else None,
            level_downsamples=tuple(level.downsample for level in slide.levels) or (1.0,),
        )

    async def read(
        self, slide_id: str, level: int, x: int, y: int, width: int, height: int
    ) -> np.ndarray:
        """Pixels of a level-0 rectangle (inside the slide) at `level`, rows x columns x 3."""
        request = pb.ReadRegionRequest(
            slide_id=slide_id, x=x, y=y, width=width, height=height, level=level
        )
        header = None
        buffer = bytearray()
        with _slides_outage_named():
            async for message in self.stub().ReadRegion(request, timeout=self.timeout_s):
                if message.HasField("header"):
                    header = message.header
                    buffer = bytearray(header.width * header.height * header.channels)
                    filled = 0
                else:
                    chunk = message.chunk
                    buffer[filled : filled + len(chunk)] = chunk
                    filled += len(chunk)
        if header is None or filled != len(buffer):
            # Only a sender stopped mid-answer ends a stream early (a slides service
            # shutting down): an outage to wait for, as a refused connection is.
            raise Unavailable(
                f"The slides service stopped while sending a region of {slide_id}",
                dependency="slides",
            )
        return np.frombuffer(buffer, np.uint8).reshape(header.height, header.width, header.channels)


@contextlib.contextmanager
def _slides_outage_named() -> Iterator[None]:
    """The slides service unreachable (no status of its own): Unavailable naming it."""
    try:
        yield
    except grpc.RpcError as error:
        failure = RpcFailure.from_error(error)
        # Unreachable, or our call cancelled by the slides service itself as it stops
        # (this client never cancels a read but by cancelling its task).
        gone = failure.grpc_code is grpc.StatusCode.UNAVAILABLE and failure.raw_status is None
        if gone or failure.grpc_code is grpc.StatusCode.CANCELLED:
            raise Unavailable("The slides service is unavailable", dependency="slides") from None
        raise


def blocking_reader(
    client: SlideClient, slide_id: str, loop: asyncio.AbstractEventLoop
) -> LevelReader:
    """A LevelReader for worker threads: each read runs on `loop` and is waited for."""

    def read(level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        future = asyncio.run_coroutine_threadsafe(
            client.read(slide_id, level, x, y, width, height), loop
        )
        return future.result(client.timeout_s + 5)

    return read
