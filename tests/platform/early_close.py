"""Callers that leave a server stream early, against the real service bootstrap.

`python -m tests.platform.early_close N` starts a `ServiceRunner` whose
ReadRegion streams large chunks without end, then N times reads one chunk and
cancels the call (the write in flight then meets a closed stream), and prints
"survived N". Run in a subprocess: a crash in grpc's core (a segfault) shows as
the exit status instead of taking the test run down.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

from grpc import aio

from common.server import GrpcService, ServiceRunner
from common.settings import PlatformSettings, ServerSettings
from micrographia.slides.v1 import slides_pb2, slides_pb2_grpc

SERVICE = slides_pb2.DESCRIPTOR.services_by_name["SlidesService"].full_name


class EndlessRegions(slides_pb2_grpc.SlidesServiceServicer):
    async def ReadRegion(self, request, context):
        chunk = slides_pb2.ReadRegionResponse(chunk=b"x" * 65536)
        while True:
            yield chunk
            await asyncio.sleep(0)


class EndlessService(GrpcService):
    name = "endless"
    service_names = (SERVICE,)

    async def setup(self, server: aio.Server) -> None:
        slides_pb2_grpc.add_SlidesServiceServicer_to_server(EndlessRegions(), server)


async def leave_early(times: int) -> None:
    runner = ServiceRunner(
        EndlessService, ServerSettings(port=0), PlatformSettings(otel_exporter="none")
    )
    await runner.start()
    try:
        async with aio.insecure_channel(runner.address) as channel:
            stub = slides_pb2_grpc.SlidesServiceStub(channel)
            for _ in range(times):
                call = stub.ReadRegion(slides_pb2.ReadRegionRequest(), timeout=10)
                await call.read()
                call.cancel()
                await asyncio.sleep(0.005)
                gc.collect()  # finalize what an abandoned stream left behind
        await asyncio.sleep(0.3)
        gc.collect()
    finally:
        await runner.stop(grace=1)
    print("survived", times, flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(leave_early(int(sys.argv[1])))
