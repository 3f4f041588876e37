"""ReadFrame into a client's shared memory: the same pixels as the answer would
carry, written where the client asked, and clear refusals otherwise."""

from __future__ import annotations

from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from uuid import uuid4

import grpc
import numpy as np
import pytest

from common.rpc_errors import RpcFailure
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from micrographia.microscopy.v1 import microscopy_pb2_grpc
from services.microscopy.core import open_reader
from testing.synthetic_tiff import write_synthetic_ome_tiff


@pytest.fixture
def stub(platform):
    with grpc.insecure_channel(platform.address("microscopy")) as channel:
        yield microscopy_pb2_grpc.MicroscopyServiceStub(channel)


@pytest.fixture
def segment():
    memory = SharedMemory(create=True, size=64_000, name=f"micrographia-test-{uuid4().hex[:12]}")
    yield memory
    memory.close()
    memory.unlink()


@pytest.fixture(scope="module")
def movie(data_root: Path) -> Path:
    folder = data_root / "shared-memory"
    folder.mkdir(exist_ok=True)
    return write_synthetic_ome_tiff(
        folder / "movie.ome.tif", n_frames=3, n_channels=2, height=60, width=70
    )


def read_into(stub, movie: Path, t: int, c: int, target: pb.SharedMemoryTarget):
    address = pb.FrameAddress(file_path=str(movie), t=t, channel=c)
    return stub.ReadFrame(pb.ReadFrameRequest(frame=address, shared_memory=target), timeout=10)


def test_frames_land_in_shared_memory_at_the_offset_asked(stub, segment, movie):
    frame_bytes = 60 * 70 * 2
    with open_reader(movie) as reader:
        for slot, (t, c) in enumerate([(0, 0), (2, 1), (1, 0)]):
            offset = slot * frame_bytes
            target = pb.SharedMemoryTarget(name=segment.name, offset=offset, size=frame_bytes)
            response = read_into(stub, movie, t, c, target)
            assert response.in_shared_memory and response.data == b""
            assert (response.dtype, list(response.shape)) == ("uint16", [60, 70])
            pixels = np.ndarray(response.shape, response.dtype, buffer=segment.buf, offset=offset)
            np.testing.assert_array_equal(pixels, reader.read_frame(0, t, c))


@pytest.mark.parametrize(
    ("name", "offset", "size", "reason"),
    [
        ("other-app-segment", 0, 64_000, "must start with 'micrographia'"),
        ("micrographia/../x", 0, 64_000, "must start with 'micrographia'"),
        ("micrographia-does-not-exist", 0, 64_000, "does not exist on the service's machine"),
        (None, 0, 100, "does not fit"),  # smaller than the frame
        (None, 60_000, 8_400, "does not fit"),  # past the end of the segment
        (None, -1, 8_400, "does not fit"),
    ],
)
def test_bad_targets_are_refused_clearly(stub, segment, movie, name, offset, size, reason):
    target = pb.SharedMemoryTarget(name=name or segment.name, offset=offset, size=size)
    before = bytes(segment.buf)
    with pytest.raises(grpc.RpcError) as raised:
        read_into(stub, movie, 0, 0, target)
    failure = RpcFailure.from_error(raised.value)
    assert failure.grpc_code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.error_code == "INVALID_PARAMETERS"
    assert reason in failure.message
    assert bytes(segment.buf) == before, "nothing was written"
