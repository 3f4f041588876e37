"""A workflow's Cellpose calls ride out an outage of the inference service: the frames
not answered yet are sent again with backoff for the bounded time (the job's progress
saying "Waiting for the inference service"), and only then does the FOV fail.

The inference service here is a small real gRPC server on loopback that answers
SegmentFrames with a threshold's connected components (the thing under test is the
client, its retry and the progress, not Cellpose); it refuses its first calls as
UNAVAILABLE, once after it has already answered one frame.
"""

from __future__ import annotations

import json
import threading
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import pytest
from scipy import ndimage

from common.cellpose import CellposeOptions
from common.errors import Unavailable
from micrographia.inference.v1 import inference_pb2 as pb
from micrographia.inference.v1 import inference_pb2_grpc
from services.microscopy.cellpose_client import RemoteCellpose
from services.microscopy.core.workflow import storage
from services.microscopy.core.workflow.control import ProgressFile, read_progress
from services.microscopy.core.workflow.pipeline import (
    ChannelSpec,
    FovTask,
    PipelineParams,
    fov_paths,
    run_fov,
)
from services.microscopy.core.workflow.runner import _progress
from testing.synthetic_tiff import write_synthetic_ome_tiff


def threshold_labels(frame: pb.Frame) -> np.ndarray:
    image = np.frombuffer(frame.data, np.dtype(frame.dtype).newbyteorder("<"))
    image = image.reshape(frame.height, frame.width)
    return ndimage.label(image > image.mean())[0].astype(np.uint16)


class FlakyInference(inference_pb2_grpc.InferenceServiceServicer):
    """UNAVAILABLE for its first `refusals` calls; the first refusal comes after one
    frame was answered (a service going away mid-call)."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.frames_asked: list[int] = []
        self.lock = threading.Lock()

    def SegmentFrames(self, request, context):
        with self.lock:
            self.frames_asked.append(len(request.frames))
            refuse = self.refusals > 0
            self.refusals -= refuse
        for index, frame in enumerate(request.frames):
            if refuse and index == min(1, len(request.frames) - 1):
                context.abort(grpc.StatusCode.UNAVAILABLE, "inference is restarting")
            labels = threshold_labels(frame)
            yield pb.SegmentFramesResponse(
                labels=pb.FrameLabels(
                    index=index,
                    height=labels.shape[0],
                    width=labels.shape[1],
                    dtype="uint16",
                    data=labels.tobytes(),
                )
            )


@pytest.fixture
def serve():
    servers = []

    def start(servicer: FlakyInference) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(0)


def frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 1000, (24, 32), dtype=np.uint16) for _ in range(n)]


def test_frames_are_sent_again_until_the_service_answers(serve):
    service = FlakyInference(refusals=3)
    client = RemoteCellpose(serve(service), unavailable_retry_s=30)
    waits: list[str] = []
    sent = frames(4)

    labels = list(client.segment(sent, CellposeOptions(), on_wait=waits.append))
    assert len(labels) == 4
    for frame, got in zip(sent, labels, strict=True):
        expected = threshold_labels(
            pb.Frame(height=24, width=32, dtype="uint16", data=frame.tobytes())
        )
        assert np.array_equal(got, expected)
    assert waits == ["inference"] * 3
    # The frame answered before each refusal is not asked again.
    assert service.frames_asked == [4, 3, 2, 1]


def test_an_outage_longer_than_the_setting_fails_naming_the_service(serve):

    client = RemoteCellpose(serve(FlakyInference(refusals=1000)), unavailable_retry_s=1.0)
    waits: list[str] = []
    with pytest.raises(Unavailable, match="inference service"):
        list(client.segment(frames(1), CellposeOptions(), on_wait=waits.append))
    assert waits and set(waits) == {"inference"}


def test_a_fov_waits_for_the_inference_service_and_its_progress_says_so(serve, tmp_path):
    movie = write_synthetic_ome_tiff(
        tmp_path / "movie.ome.tif", n_frames=3, n_channels=2, height=32, width=32
    )
    task = FovTask(
        microscopy_path=str(movie),
        fov=0,
        output_dir=str(tmp_path / "out"),
        phase=ChannelSpec(0, ("area",)),
        fluorescence=(),
        params=PipelineParams(min_frames=1, segmentation_method="cellpose"),
        segmenter=RemoteCellpose(serve(FlakyInference(refusals=2)), unavailable_retry_s=30),
    )
    control = tmp_path / "control"
    control.mkdir()
    progress_file = ProgressFile(control, 0)
    seen: list[dict] = []

    def on_progress(step: str, done: int, total: int, waiting: str = "") -> None:
        progress_file(step, done, total, waiting=waiting)
        record = read_progress(control, 0)
        seen.append({"waiting": record.waiting, "message": _progress(control, 1, {}, [0]).message})

    run_fov(task, on_progress=on_progress)
    waiting = [event for event in seen if event["waiting"]]
    assert waiting and all(event["waiting"] == "inference" for event in waiting)
    assert waiting[0]["message"] == "Waiting for the inference service (FOV 0, 0/1 FOVs done)"
    assert not seen[-1]["waiting"]  # the wait is over once frames come back
    mask = storage.open_array(fov_paths(task).mask)
    assert mask.shape[0] == 3 and int(np.asarray(mask).max()) > 0
    assert json.loads(Path(progress_file.path).read_text())["waiting"] == ""
