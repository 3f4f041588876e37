"""Painted slides uploaded through the slides service, and inference services
beside the platform's (an oracle one, one without weights)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from common.server import ServiceRunner
from micrographia.inference.v1 import inference_pb2_grpc
from services.inference.service import InferenceService
from services.inference.settings import InferenceSettings
from testing.oracle import OraclePredictor
from tests.harness import RunningPlatform
from tests.inference.synthetic import TrueNucleus, paint, write_aperio

PAINTED_SIZE = (900, 700)  # width, height, level-0 pixels
PAINTED_MPP = 0.25
# Eight nuclei, radius 8 px (2 um), two on the patch seam at model x = 328.
PAINTED_NUCLEI = [
    TrueNucleus(328, 120, 8, 1),
    TrueNucleus(328, 420, 8, 2),
    TrueNucleus(150, 150, 8, 3),
    TrueNucleus(500, 250, 8, 4),
    TrueNucleus(640, 600, 8, 5),
    TrueNucleus(200, 560, 8, 1),
    TrueNucleus(780, 90, 8, 2),
    TrueNucleus(420, 640, 8, 3),
]


def upload(platform: RunningPlatform, path: Path) -> dict:
    with httpx.Client(base_url=platform.base_url, timeout=60) as api, path.open("rb") as file:
        response = api.post("/api/slides/upload", files={"file": (path.name, file)})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def painted_slide(platform: RunningPlatform, tmp_path_factory) -> dict:
    """A pyramidal Aperio-style TIFF of painted nuclei at 0.25 um/px, uploaded."""
    folder = tmp_path_factory.mktemp("painted")
    image = paint(*PAINTED_SIZE, PAINTED_NUCLEI)
    return upload(platform, write_aperio(folder / "painted.svs", image, PAINTED_MPP))


@pytest.fixture(scope="module")
def inference_stub(platform: RunningPlatform) -> Iterator[inference_pb2_grpc.InferenceServiceStub]:
    """The platform's own inference service (random weights, on the CPU)."""
    with grpc.insecure_channel(platform.address("inference")) as channel:
        yield inference_pb2_grpc.InferenceServiceStub(channel)


class CountingOracle(OraclePredictor):
    """The oracle, optionally slowed down per batch, counting the batches it ran."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.batches = 0
        self.lock = threading.Lock()

    def predict(self, batches, cancelled=None):
        for maps in super().predict(batches, cancelled):
            time.sleep(self.delay_s)
            with self.lock:
                self.batches += 1
            yield maps


@dataclass
class ExtraInference:
    runner: ServiceRunner
    stub: inference_pb2_grpc.InferenceServiceStub
    oracle: CountingOracle | None


@pytest.fixture(scope="module")
def extra_inference(platform: RunningPlatform):
    """Start inference services beside the platform's, stopped at module end.

    `start(oracle=..., weights=..., **settings)`: with an oracle, it replaces the
    loaded network; `weights` overrides MICROGRAPHIA_INFERENCE_WEIGHTS."""
    started: list[tuple[ServiceRunner, grpc.Channel]] = []

    def start(oracle: CountingOracle | None = None, weights: str = "random", **settings):
        server = InferenceSettings(host="127.0.0.1", port=0, grace_period_s=1, **settings)
        runner = ServiceRunner(
            InferenceService,
            server,
            platform.platform.model_copy(update={"inference_weights": weights}),
        )
        platform.loop.run(runner.start())
        platform.loop.run(runner.wait_ready())
        if oracle is not None:
            runner.service.host.install(oracle)
        channel = grpc.insecure_channel(runner.address)
        started.append((runner, channel))
        return ExtraInference(runner, inference_pb2_grpc.InferenceServiceStub(channel), oracle)

    yield start
    for runner, channel in started:
        channel.close()
        platform.loop.run(runner.stop(grace=1))
