"""The service's conversions: ReadFrame's hand-serialized answer is byte for byte
what protobuf writes, and the sort enums map as documented."""

from __future__ import annotations

import numpy as np
import pytest

from common.errors import InvalidArgument
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from services.microscopy import messages


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((1, 1), np.uint8),  # 1-byte length
        ((1, 128), np.uint8),  # the first 2-byte length
        ((31, 38), np.uint16),
        ((170, 240), np.float32),
        ((2048, 2048), np.uint16),  # 8 MiB: a 4-byte length
        ((3, 5), np.int16),
    ],
)
def test_read_frame_bytes_equal_protobufs_serialization(shape, dtype) -> None:
    frame = (np.arange(np.prod(shape)) % 251).astype(dtype).reshape(shape)
    expected = pb.ReadFrameResponse(
        data=frame.tobytes(), dtype=frame.dtype.name, shape=frame.shape
    ).SerializeToString()
    assert messages.read_frame_response_bytes(frame) == expected
    parsed = pb.ReadFrameResponse.FromString(messages.read_frame_response_bytes(frame))
    np.testing.assert_array_equal(np.frombuffer(parsed.data, parsed.dtype).reshape(shape), frame)


def test_sort_enums() -> None:
    assert messages.sort_key(pb.SORT_KEY_UNSPECIFIED) == "name"
    assert messages.sort_key(pb.SORT_KEY_MODIFIED_TIME) == "modified_time"
    assert messages.sort_order(pb.SORT_ORDER_UNSPECIFIED) == "asc"
    assert messages.sort_order(pb.SORT_ORDER_DESC) == "desc"
    with pytest.raises(InvalidArgument, match="sort_by"):
        messages.sort_key(42)
    with pytest.raises(InvalidArgument, match="sort_order"):
        messages.sort_order(42)
