"""Cellpose on the inference service: SegmentFrames over real gRPC, the labels equal to
Cellpose's own `eval` (the oracle network in both), every check before any work,
cancellation, and the weights setting."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest
import torch

from common.cellpose import CellposeOptions
from micrographia.inference.v1 import inference_pb2 as pb
from services.inference.core.cellpose import CellposeHost, FramesConfig, segment_frames
from services.inference.core.cellpose.frames import FrameLabels
from services.microscopy.cellpose_client import frame_message, labels_array
from testing.cellpose_oracle import (
    OracleCellposeNetwork,
    OracleFlowPredictor,
    PaintedCell,
    crowded_cells,
    match,
    paint_cells,
)
from tests.conftest import serving_cellpose

CELLS = [
    PaintedCell(100, 100, 14),
    PaintedCell(103, 122, 14),  # touches the one before
    PaintedCell(240, 250, 13),
    PaintedCell(400, 60, 15),
    PaintedCell(12, 300, 12),  # cut by the frame's edge
    PaintedCell(300, 440, 16),
]


def cellposes_own_eval(frame: np.ndarray, **options) -> np.ndarray:
    """`CellposeModel.eval` with the oracle as its network (Cellpose builds its model
    from a checkpoint only, so the instance is made around the network)."""
    from cellpose import models

    model = models.CellposeModel.__new__(models.CellposeModel)
    model.net = OracleCellposeNetwork()
    model.device = torch.device("cpu")
    model.gpu = False
    model.backbone = "sam_vitl"
    model.pretrained_model = "oracle"
    return model.eval(frame, batch_size=8, **options)[0]


@pytest.mark.parametrize("diameter", [0.0, 60.0])
def test_labels_equal_cellposes_own_eval(diameter):
    """Same tiles, same averaging, same resizing, same dynamics: label for label."""
    frame, _ = paint_cells((520, 470), CELLS)
    events = []
    options = CellposeOptions(diameter=diameter)
    segment_frames(
        [frame, frame[:300]], options, OracleFlowPredictor(), FramesConfig(), events.append
    )
    ours = [event.labels for event in events if isinstance(event, FrameLabels)]
    kwargs = {"diameter": diameter or None, "flow_threshold": 0.4, "cellprob_threshold": 0.0}
    np.testing.assert_array_equal(ours[0], cellposes_own_eval(frame, **kwargs))
    np.testing.assert_array_equal(ours[1], cellposes_own_eval(frame[:300], **kwargs))


def segment(stub, frames, **options) -> tuple[list, list[np.ndarray], pb.FramesSummary]:
    request = pb.SegmentFramesRequest(
        options=pb.CellposeOptions(**options), frames=[frame_message(f) for f in frames]
    )
    progress, labels, summary = [], [], None
    for response in stub.SegmentFrames(request, timeout=600):
        kind = response.WhichOneof("payload")
        if kind == "progress":
            progress.append(response.progress)
        elif kind == "labels":
            assert response.labels.index == len(labels)
            labels.append(labels_array(response.labels))
        else:
            summary = response.summary
    return progress, labels, summary


def test_frames_of_one_request_share_the_device_batches(inference_stub, oracle_cellpose):
    cells, pairs = crowded_cells(700, seed=3)
    first, truth = paint_cells((700, 700), cells)
    second, _ = paint_cells((300, 260), [*CELLS[:3], PaintedCell(200, 60, 15)])
    progress, labels, summary = segment(inference_stub, [first, second.astype(np.float32)])
    matches = match(truth, labels[0])
    assert min(iou for _, iou in matches.values()) >= 0.9
    assert len({label for label, _ in matches.values()}) == len(cells) == labels[0].max()
    assert all(matches[a + 1][0] != matches[b + 1][0] for a, b in pairs)
    assert labels[1].max() == 4 and labels[1].shape == (300, 260)
    # 4 x 4 tiles of the first frame and 2 x 2 of the second, in batches of 8 across frames.
    assert summary.tiles == 20 and summary.frames == 2 and summary.cells == len(cells) + 4
    assert oracle_cellpose.batches == 3
    assert progress[-1].current == progress[-1].total == 20
    assert [p.current for p in progress] == sorted(p.current for p in progress)


def rpc_error(stub, frames, **options) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        segment(stub, frames, **options)
    return caught.value


@pytest.mark.parametrize(
    ("frames", "options", "code", "message"),
    [
        ([], {}, grpc.StatusCode.INVALID_ARGUMENT, "no frames to segment"),
        (
            [np.zeros((8, 8), np.uint16)],
            {"flow_threshold": -1},
            "INVALID_ARGUMENT",
            "flow_threshold",
        ),
        ([np.zeros((8, 8), np.uint16)], {"cellprob_threshold": 7}, "INVALID_ARGUMENT", "cellprob"),
        ([np.zeros((8, 8), np.uint16)], {"min_size": -2}, "INVALID_ARGUMENT", "min_size"),
        ([np.zeros((8, 8), np.uint16)], {"diameter": 0.001}, "INVALID_ARGUMENT", "diameter"),
        ([np.zeros((8, 8), np.complex64)], {}, "INVALID_ARGUMENT", "dtype 'complex64'"),
        ([np.zeros((8, 8), np.uint16)], {"model": "cyto3"}, "FAILED_PRECONDITION", "'cyto3'"),
    ],
)
def test_bad_requests_are_refused_before_any_work(
    inference_stub, oracle_cellpose, frames, options, code, message
):
    error = rpc_error(inference_stub, frames, **options)
    assert error.code().name == (code if isinstance(code, str) else code.name)
    assert message in error.details()
    assert oracle_cellpose.batches == 0


def test_frame_bytes_that_do_not_add_up_are_refused(inference_stub, oracle_cellpose):
    request = pb.SegmentFramesRequest(
        frames=[pb.Frame(height=4, width=4, dtype="uint16", data=b"\0" * 31)]
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(inference_stub.SegmentFrames(request, timeout=60))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "31 bytes for 4 x 4 uint16 (32 expected)" in caught.value.details()


class SlowOracle(OracleFlowPredictor):
    def predict(self, batches):
        for maps in super().predict(batches):
            time.sleep(0.5)
            yield maps


def test_cancelling_stops_before_the_next_batch(platform, inference_stub):
    host = CellposeHost("random")
    oracle = SlowOracle()
    host.install(oracle)
    with serving_cellpose(platform, host):
        frame, _ = paint_cells((1024, 1024), CELLS)  # 5 x 5 tiles: 4 batches of 8
        request = pb.SegmentFramesRequest(frames=[frame_message(frame)])
        call = inference_stub.SegmentFrames(request, timeout=120)
        for response in call:
            if response.HasField("progress") and response.progress.current > 0:
                call.cancel()
                break
        seen = oracle.batches
        time.sleep(2.0)
        assert oracle.batches <= seen + 1 < 4


def test_cellpose_info_names_the_setting_without_weights(inference_stub, cellpose_without_weights):
    info = inference_stub.GetCellposeInfo(pb.GetCellposeInfoRequest(), timeout=10)
    assert not info.available and not info.loaded
    assert info.setting == "MICROGRAPHIA_CELLPOSE_WEIGHTS"
    assert "checkpoint /nonexistent/cpsam.pt does not exist" in info.error
    error = rpc_error(inference_stub, [np.zeros((8, 8), np.uint16)])
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "MICROGRAPHIA_CELLPOSE_WEIGHTS" in error.details()


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("/nonexistent/model.pt", "checkpoint /nonexistent/model.pt does not exist"),
        ("cyto-unknown", "'cyto-unknown' is not a Cellpose model name"),
    ],
)
def test_weights_that_cannot_be_had_say_why(weights, message):
    host = CellposeHost(weights)
    host.check()
    assert not host.available and message in host.error
    with pytest.raises(Exception, match="MICROGRAPHIA_CELLPOSE_WEIGHTS"):
        host.load()


def test_random_weights_are_cellpose_sam_and_said_loudly(caplog):
    from cellpose.vit import CPSAM

    from services.inference.core.cellpose.weights import build_network

    with caplog.at_level("WARNING"):
        network = build_network("random")
    assert isinstance(network, CPSAM) and network.dtype == torch.bfloat16
    assert "RANDOM weights" in caplog.text


def test_the_platform_serves_random_cellpose_lazily(inference_stub):
    info = inference_stub.GetCellposeInfo(pb.GetCellposeInfoRequest(), timeout=10)
    assert info.available and info.model == "random" and info.weights == "random"
    assert info.batch_size == 8
