"""The service's conversions: the sort enums map as documented."""

from __future__ import annotations

import pytest

from common.errors import InvalidArgument
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from services.microscopy import messages


def test_sort_enums() -> None:
    assert messages.sort_key(pb.SORT_KEY_UNSPECIFIED) == "name"
    assert messages.sort_key(pb.SORT_KEY_MODIFIED_TIME) == "modified_time"
    assert messages.sort_order(pb.SORT_ORDER_UNSPECIFIED) == "asc"
    assert messages.sort_order(pb.SORT_ORDER_DESC) == "desc"
    with pytest.raises(InvalidArgument, match="sort_by"):
        messages.sort_key(42)
    with pytest.raises(InvalidArgument, match="sort_order"):
        messages.sort_order(42)
