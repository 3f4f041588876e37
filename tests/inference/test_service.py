"""The inference gRPC service on loopback, pixels from the real slides service."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from edge.settings import EdgeSettings
from micrographia.inference.v1 import inference_pb2 as pb
from tests.harness import free_port
from tests.inference.conftest import PAINTED_MPP, PAINTED_NUCLEI, PAINTED_SIZE, CountingOracle

ROOT = Path(__file__).resolve().parents[2]


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    info = error_details_pb2.ErrorInfo()
    rpc_status.from_call(error).details[0].Unpack(info)
    return info


def segment(stub, **request) -> list[pb.SegmentRegionResponse]:
    return list(stub.SegmentRegion(pb.SegmentRegionRequest(**request), timeout=300))


def split(responses):
    progress = [r.progress for r in responses if r.HasField("progress")]
    nuclei = [n for r in responses if r.HasField("nuclei") for n in r.nuclei.nuclei]
    summaries = [r.summary for r in responses if r.HasField("summary")]
    return progress, nuclei, summaries


def test_model_info(inference_stub) -> None:
    info = inference_stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=10)
    assert info.loaded and info.weights == "random" and info.device == "cpu"
    assert (info.model_name, info.mode, info.mpp) == ("hovernet_fast", "fast", 0.25)
    assert (info.patch_input_size, info.patch_output_size) == (256, 164)
    assert [t.name for t in info.cell_types][1] == "Neoplastic" and len(info.cell_types) == 6
    assert info.error == ""


def test_oracle_nuclei_through_grpc(extra_inference, painted_slide) -> None:
    """Slides service -> inference -> caller: every painted nucleus once, in level-0 terms."""
    service = extra_inference(oracle=CountingOracle(), tile_size=400, margin=48)
    responses = segment(
        service.stub,
        slide_id=painted_slide["id"],
        x=0,
        y=0,
        width=5000,
        height=5000,
        include_contours=True,
    )
    progress, nuclei, summaries = split(responses)
    assert responses[-1].HasField("summary") and len(summaries) == 1
    summary = summaries[0]
    assert (summary.x, summary.y, summary.width, summary.height) == (0, 0, *PAINTED_SIZE)
    assert (summary.mpp, summary.read_level, summary.scale) == (0.25, 0, 1.0)
    assert summary.tiles == 6 and summary.total_nuclei == len(nuclei) == len(PAINTED_NUCLEI)
    assert progress[-1].current == progress[-1].total == summary.patches
    assert progress[-1].percentage == 100
    for truth in PAINTED_NUCLEI:
        near = [n for n in nuclei if math.hypot(n.x - truth.x, n.y - truth.y) < 3]
        assert len(near) == 1, truth
        nucleus = near[0]
        assert nucleus.cell_type == truth.cell_type and 0 <= nucleus.probability <= 1
        contour = np.array([(p.x, p.y) for p in nucleus.contour])
        assert len(contour) >= 3
        assert contour[:, 0].min() == nucleus.x_min and contour[:, 1].max() == nucleus.y_max
        assert nucleus.area_um2 == pytest.approx(nucleus.area_px * PAINTED_MPP**2)
        assert nucleus.area_um2 == pytest.approx(math.pi * 2.0**2, rel=0.15)


@pytest.mark.slow
@pytest.mark.model
def test_random_weights_forward_pass_equals_tiatoolbox(inference_stub, painted_slide) -> None:
    """The real network (random, seeded weights) on one patch, end to end, gives
    exactly what tiatoolbox's own infer_batch + postproc give on the same pixels."""
    import openslide  # noqa: F401 - the slide is read back through the slides service below
    import torch
    from tiatoolbox.models.architecture.hovernet import HoVerNet

    from services.inference.core import ModelSpec
    from services.inference.core.model import random_network

    # Core [230, 260) grown by the 64 px margin lies inside the patch output [164, 328).
    responses = segment(
        inference_stub, slide_id=painted_slide["id"], x=230, y=230, width=30, height=30
    )
    progress, nuclei, summaries = split(responses)
    assert summaries[0].patches == 1 and summaries[0].tiles == 1
    assert progress[-1].current == 1

    # The same patch, straight from the painted slide, through tiatoolbox alone.
    from tests.inference.synthetic import paint

    image = paint(*PAINTED_SIZE, PAINTED_NUCLEI)
    patch = image[164 - 46 : 328 + 46, 164 - 46 : 328 + 46]
    network = random_network(ModelSpec())
    maps = HoVerNet.infer_batch(network, torch.from_numpy(patch[None].copy()), device="cpu")
    (result,) = network.postproc([m[0] for m in maps])
    info = result["info_dict"]
    centroids = np.asarray(info["centroid"], dtype=float).reshape(-1, 2) + 164
    inside = (centroids[:, 0] + 0.5 >= 230) & (centroids[:, 0] + 0.5 < 260)
    inside &= (centroids[:, 1] + 0.5 >= 230) & (centroids[:, 1] + 0.5 < 260)
    expected = sorted(map(tuple, np.round(centroids[inside], 6)))
    got = sorted((round(n.x, 6), round(n.y, 6)) for n in nuclei)
    assert got == expected
    for nucleus in nuclei:
        assert 0 <= nucleus.probability <= 1 and nucleus.area_um2 > 0


@pytest.fixture(scope="module")
def limited(extra_inference):
    """An oracle inference service that accepts at most 500 x 500 model pixels."""
    return extra_inference(oracle=CountingOracle(), max_region_pixels=500 * 500)


@pytest.mark.parametrize(
    ("rectangle", "words"),
    [
        ({"x": 0, "y": 0, "width": 0, "height": 10}, "must be positive"),
        ({"x": 10, "y": 10, "width": -5, "height": 10}, "must be positive"),
        ({"x": 5000, "y": 5000, "width": 10, "height": 10}, "outside the slide"),
        ({"x": -500, "y": 0, "width": 400, "height": 10}, "outside the slide"),
        ({"x": 0, "y": 0, "width": 600, "height": 600}, "over the limit"),
    ],
)
def test_bad_rectangles_are_refused_before_any_work(
    limited, painted_slide, rectangle, words
) -> None:
    service = limited
    with pytest.raises(grpc.RpcError) as caught:
        segment(service.stub, slide_id=painted_slide["id"], **rectangle)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in caught.value.details()
    assert error_info(caught.value).reason == "INVALID_PARAMETERS"
    assert service.oracle.batches == 0


def test_unknown_slide_is_not_found(inference_stub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        segment(
            inference_stub,
            slide_id="00000000-0000-4000-8000-000000000000",
            x=0,
            y=0,
            width=10,
            height=10,
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_weights_that_cannot_be_had(extra_inference, painted_slide, platform) -> None:
    """Health NOT_SERVING with the reason (also on the edge's /health); requests
    FAILED_PRECONDITION naming the setting; the other services keep serving."""
    service = extra_inference(weights="/nonexistent/hovernet.pth")
    with platform.extra_edge(
        EdgeSettings(port=free_port()), inference_address=service.runner.address
    ) as base_url:
        body = httpx.get(f"{base_url}/health", timeout=10).json()
    assert body["status"] == "degraded"
    assert body["backends"]["inference"]["status"] == "not_serving"
    assert "MICROGRAPHIA_INFERENCE_WEIGHTS" in body["backends"]["inference"]["error"]
    assert body["backends"]["slides"]["status"] == "serving"
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(service.runner.address))
    status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    info = service.stub.GetModelInfo(pb.GetModelInfoRequest(), timeout=5)
    assert not info.loaded
    assert "MICROGRAPHIA_INFERENCE_WEIGHTS" in info.error and "does not exist" in info.error
    with pytest.raises(grpc.RpcError) as caught:
        segment(service.stub, slide_id=painted_slide["id"], x=0, y=0, width=100, height=100)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "MICROGRAPHIA_INFERENCE_WEIGHTS" in caught.value.details()
    assert error_info(caught.value).metadata["setting"] == "MICROGRAPHIA_INFERENCE_WEIGHTS"


def test_cancelling_stops_the_work_within_a_batch(extra_inference, painted_slide) -> None:
    oracle = CountingOracle(delay_s=0.3)
    service = extra_inference(oracle=oracle, batch_size=1, tile_size=164, margin=16)
    call = service.stub.SegmentRegion(
        pb.SegmentRegionRequest(slide_id=painted_slide["id"], x=0, y=0, width=5000, height=5000),
        timeout=120,
    )
    for response in call:
        if response.HasField("progress") and response.progress.current >= 2:
            total = response.progress.total
            break
    call.cancel()
    at_cancel = oracle.batches
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait for the pipeline to notice, not for speed
        previous = oracle.batches
        time.sleep(1.0)
        if oracle.batches == previous:
            break
    assert oracle.batches <= at_cancel + 2 < total


_CALLER_THAT_DIES = """
import os, signal, sys
import grpc
from micrographia.inference.v1 import inference_pb2 as pb, inference_pb2_grpc
stub = inference_pb2_grpc.InferenceServiceStub(grpc.insecure_channel(sys.argv[1]))
request = pb.SegmentRegionRequest(slide_id=sys.argv[2], x=0, y=0, width=5000, height=5000)
for response in stub.SegmentRegion(request, timeout=120):
    if response.HasField("progress") and response.progress.current >= 2:
        print(response.progress.total, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_caller_killed_mid_call_stops_the_work_within_a_batch(
    extra_inference, painted_slide
) -> None:
    """A caller killed outright (kill -9: no cancel, its connection just drops)
    stops the segmentation as a cancel does, not after the garbage collector
    happens to finalize the abandoned stream."""
    oracle = CountingOracle(delay_s=0.3)
    service = extra_inference(oracle=oracle, batch_size=1, tile_size=164, margin=16)
    caller = subprocess.run(
        [sys.executable, "-c", _CALLER_THAT_DIES, service.runner.address, painted_slide["id"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert caller.returncode == -signal.SIGKILL, caller.stderr
    total = int(caller.stdout.split()[0])
    at_death = oracle.batches
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait for the pipeline to notice, not for speed
        previous = oracle.batches
        time.sleep(1.0)
        if oracle.batches == previous:
            break
    assert oracle.batches <= at_death + 3 < total
