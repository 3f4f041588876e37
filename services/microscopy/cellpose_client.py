"""Cellpose for the workflow's segmentation step: frames to the inference service.

`RemoteCellpose` is what a FOV worker (a pool process or a Dask worker) holds:
picklable, it opens its channel to the inference service on first use in that
process. Each call sends one batch of frames (SegmentFrames) and yields their
instance labels in order as they come; the caller's stop check is polled on
every message, and a stop cancels the call (the service stops before its next
device batch).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import grpc
import numpy as np

from common import errors
from common.cellpose import CellposeOptions
from common.channels import channel_options, grpc_target
from common.errors import ServiceError
from common.retry import UnavailableBackoff, is_unavailable
from common.rpc_errors import RpcFailure
from micrographia.inference.v1 import inference_pb2 as pb
from micrographia.inference.v1 import inference_pb2_grpc
from services.microscopy.core.workflow.pipeline import Cancelled

_CHANNELS: dict[str, grpc.Channel] = {}  # one per address and process


def options_message(options: CellposeOptions) -> pb.CellposeOptions:
    return pb.CellposeOptions(
        model=options.model or "",
        diameter=options.diameter,
        flow_threshold=options.flow_threshold,
        cellprob_threshold=options.cellprob_threshold,
        min_size=options.min_size,
    )


def frame_message(frame: np.ndarray) -> pb.Frame:
    frame = np.ascontiguousarray(frame)
    if frame.dtype.byteorder == ">":
        frame = frame.astype(frame.dtype.newbyteorder("<"))
    return pb.Frame(
        height=frame.shape[0], width=frame.shape[1], dtype=frame.dtype.name, data=frame.tobytes()
    )


def labels_array(message: pb.FrameLabels) -> np.ndarray:
    dtype = np.dtype(message.dtype).newbyteorder("<")
    return np.frombuffer(message.data, dtype).reshape(message.height, message.width)


def service_error(error: grpc.RpcError) -> ServiceError:
    """The inference service's answer as the platform's error (status, code, details kept):
    it crosses the process pool and becomes the job's error."""
    failure = RpcFailure.from_error(error)
    kinds = [errors.Unavailable, errors.FailedPrecondition, errors.InvalidArgument]
    kind = next(
        (k for k in kinds if k.grpc_status == failure.grpc_code.name), errors.ProcessingError
    )
    return kind(
        f"Cellpose (inference service): {failure.message}",
        code=failure.error_code,
        **failure.details,
    )


@dataclass(frozen=True)
class RemoteCellpose:
    """Cellpose served by the inference service at `address`."""

    address: str
    max_message_bytes: int = 64 * 1024 * 1024
    # Frame bytes per call: the request stays well under the message limit.
    batch_bytes: int = 24 * 1024 * 1024
    max_frames_per_call: int = 16
    # How long an outage of the inference service is waited out before the job fails.
    unavailable_retry_s: float = 300.0

    def _stub(self) -> inference_pb2_grpc.InferenceServiceStub:
        channel = _CHANNELS.get(self.address)
        if channel is None:
            channel = grpc.insecure_channel(
                grpc_target(self.address), options=channel_options(self.max_message_bytes)
            )
            _CHANNELS[self.address] = channel
        return inference_pb2_grpc.InferenceServiceStub(channel)

    def frames_per_call(self, frame_bytes: int) -> int:
        return max(1, min(self.max_frames_per_call, self.batch_bytes // max(1, frame_bytes)))

    def segment(
        self,
        frames: Sequence[np.ndarray],
        options: CellposeOptions,
        should_stop: Callable[[], bool] = lambda: False,
        on_wait: Callable[[str], None] = lambda service: None,
    ) -> Iterator[np.ndarray]:
        """Labels of each frame, in order (0 background, 1..n cells).

        While the inference service is UNAVAILABLE (restarting, or gone a while) the
        frames not answered yet are sent again with backoff for `unavailable_retry_s`,
        `on_wait("inference")` telling the job; a stop is seen within a second."""
        backoff = UnavailableBackoff(self.unavailable_retry_s)
        done = 0
        while True:
            try:
                for labels in self._segment_once(frames[done:], options, should_stop):
                    done += 1
                    backoff.reset()
                    yield labels
                return
            except grpc.RpcError as error:
                wait = backoff.next_wait() if is_unavailable(error) else None
                if wait is None:
                    raise service_error(error) from None
                on_wait("inference")
                _sleep_unless_stopped(wait, should_stop)

    def _segment_once(
        self,
        frames: Sequence[np.ndarray],
        options: CellposeOptions,
        should_stop: Callable[[], bool],
    ) -> Iterator[np.ndarray]:
        """One SegmentFrames call; its gRPC errors are the caller's."""
        request = pb.SegmentFramesRequest(
            options=options_message(options), frames=[frame_message(f) for f in frames]
        )
        call = self._stub().SegmentFrames(request)
        try:
            for response in call:
                if should_stop():
                    call.cancel()
                    raise Cancelled("cancelled during segmentation")
                if response.HasField("labels"):
                    yield labels_array(response.labels)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.CANCELLED and should_stop():
                raise Cancelled("cancelled during segmentation") from None
            raise
        finally:
            call.cancel()  # a consumer that stopped early leaves no call behind


def _sleep_unless_stopped(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if should_stop():
            raise Cancelled("cancelled while waiting for the inference service")
        time.sleep(min(left, 0.2))
