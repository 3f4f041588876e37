"""Synthetic OME-TIFF time-lapses of any size, for tests and benchmarks.

Planes are generated and written one at a time, so a multi-gigabyte file costs
the memory of one plane. Every plane's pixels are known (`synthetic_plane`), so
a reader can be checked exactly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import tifffile

_BIGTIFF_THRESHOLD = 2**32 - 2**26  # classic TIFF offsets end at 4 GiB; keep a margin


@lru_cache(maxsize=4)
def _ramp(height: int, width: int) -> np.ndarray:
    yy, xx = np.indices((height, width), dtype=np.uint32)
    ramp = (yy * 3 + xx) % 4096
    ramp.flags.writeable = False
    return ramp


def synthetic_plane(t: int, c: int, height: int, width: int) -> np.ndarray:
    """The uint16 pixels of plane (t, c): a diagonal ramp offset by t and c."""
    return ((_ramp(height, width) + (t * 7 + c * 131)) % 65536).astype(np.uint16)


def write_synthetic_ome_tiff(
    path: str | os.PathLike[str],
    *,
    n_frames: int,
    n_channels: int,
    height: int,
    width: int,
    pixel_size_um: float = 0.65,
    frame_interval_s: float = 600.0,
    channel_names: Sequence[str] | None = None,
    compression: str | None = None,
) -> Path:
    """Write a T x C x Y x X uint16 OME-TIFF plane by plane and return its path.

    OME metadata records the pixel size, the channel names and each plane's DeltaT
    (t * frame_interval_s seconds). BigTIFF is used when the pixels approach 4 GiB.
    Uncompressed by default, like most acquisition software writes.
    """
    path = Path(path)
    names = list(channel_names or [f"ch{c}" for c in range(n_channels)])
    if len(names) != n_channels:
        raise ValueError("channel_names must name every channel")
    n_planes = n_frames * n_channels
    nbytes = n_planes * height * width * 2

    def planes() -> Iterator[np.ndarray]:
        for t in range(n_frames):
            for c in range(n_channels):
                yield synthetic_plane(t, c, height, width)

    tifffile.imwrite(
        path,
        data=planes(),
        shape=(n_frames, n_channels, height, width),
        dtype=np.uint16,
        bigtiff=nbytes >= _BIGTIFF_THRESHOLD,
        ome=True,
        photometric="minisblack",
        compression=compression,
        metadata={
            "axes": "TCYX",
            "PhysicalSizeX": pixel_size_um,
            "PhysicalSizeY": pixel_size_um,
            "Channel": {"Name": names},
            "Plane": {
                "DeltaT": [float(t * frame_interval_s) for t in range(n_frames) for _ in names],
                "DeltaTUnit": ["s"] * n_planes,
            },
        },
    )
    return path
