"""Large buffers stay in the heap: freeing and reallocating a frame-sized buffer does
not go back to the kernel once malloc is tuned."""

from __future__ import annotations

import platform
import resource

import numpy as np
import pytest

from common.memory import keep_large_buffers


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="tunes glibc's malloc")
def test_frame_sized_buffers_are_reused_without_page_faults() -> None:
    assert keep_large_buffers() is True
    assert keep_large_buffers() is True  # idempotent
    frame = np.ones((2048, 2048), np.uint16)

    def serve_one() -> None:  # two 8 MiB buffers alive at once, then freed, as a frame's are
        pixels = frame.tobytes()
        message = pixels + b"\x00"
        del pixels, message

    for _ in range(3):  # warm up the heap
        serve_one()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        serve_one()
    # Untuned, each buffer is a fresh mapping faulted in page by page: about 80000 faults.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults < 2048
