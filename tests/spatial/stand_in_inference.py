"""A stand-in inference service for the viewport stream's own behaviour (progress
cadence, cancellation, storing): a real gRPC server that answers SegmentRegion
with known nuclei after slow, silent steps. The real inference service runs the
same path in test_viewport_real.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from grpc import aio

from common.errors import ProcessingError
from common.server import GrpcService
from micrographia.inference.v1 import inference_pb2 as pb
from micrographia.inference.v1 import inference_pb2_grpc


@dataclass
class Script:
    """What the stand-in does: `steps` progress messages `step_s` apart, then
    nuclei on a grid every `spacing` pixels inside the region (types cycling)."""

    steps: int = 3
    step_s: float = 0.8
    spacing: int = 50
    fail: bool = False
    calls: int = 0
    cancelled: int = 0
    finished: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)


def grid_nuclei(x: int, y: int, width: int, height: int, spacing: int) -> list[pb.Nucleus]:
    nuclei = []
    index = 0
    for cy in range(y + spacing // 2, y + height, spacing):
        for cx in range(x + spacing // 2, x + width, spacing):
            ring = [pb.Point(x=cx + dx, y=cy + dy) for dx, dy in ((-3, -3), (3, -3), (3, 3))]
            nuclei.append(
                pb.Nucleus(
                    x=cx,
                    y=cy,
                    cell_type=index % 6,
                    probability=0.9,
                    contour=[*ring, pb.Point(x=cx - 3, y=cy + 3)],
                    area_um2=2.25,
                    perimeter_um=6.0,
                )
            )
            index += 1
    return nuclei


class StandInServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def SegmentRegion(self, request, context):
        script = self.script
        script.calls += 1
        script.started.set()
        try:
            for step in range(1, script.steps + 1):
                await asyncio.sleep(script.step_s)
                yield pb.SegmentRegionResponse(
                    progress=pb.SegmentationProgress(
                        current=step,
                        total=script.steps,
                        percentage=step / script.steps * 100,
                        message=f"Processing batch {step}/{script.steps}",
                    )
                )
            if script.fail:
                raise ProcessingError("the model ran out of memory")
            nuclei = grid_nuclei(
                request.x, request.y, request.width, request.height, script.spacing
            )
            yield pb.SegmentRegionResponse(nuclei=pb.NucleusBatch(nuclei=nuclei))
            yield pb.SegmentRegionResponse(
                summary=pb.SegmentationSummary(total_nuclei=len(nuclei), patches=script.steps)
            )
            script.finished += 1
        except asyncio.CancelledError:
            script.cancelled += 1
            raise


class StandInInference(GrpcService):
    name = "inference"
    service_names = (pb.DESCRIPTOR.services_by_name["InferenceService"].full_name,)
    script = Script()

    async def setup(self, server: aio.Server) -> None:
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(
            StandInServicer(self.script), server
        )
