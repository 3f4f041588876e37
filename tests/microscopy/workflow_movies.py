"""Small multi-FOV time-lapses with cells, for the workflow job tests.

Channel 0 (phase): textured discs on a quiet background, what `logstd` segments;
channel 1: a fluorescent disc per cell on a gradient. Each FOV is one image
(series) of a multi-image OME-TIFF, written plane by plane.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile

# Frames over 256 px: background correction needs more than one tile per axis.
SIZE = 288
# (y, x, radius) of each cell at frame 0; every cell drifts one pixel right per frame.
CELLS = ((60, 50, 14), (150, 120, 12), (220, 200, 13), (90, 210, 11))


def cell_planes(fov: int, t: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([fov, t])
    phase = rng.normal(1000, 8, (size, size))
    yy, xx = np.mgrid[:size, :size]
    fluorescence = 150.0 + xx * 0.5 + rng.normal(0, 4, (size, size))
    for y, x, radius in CELLS:
        inside = (yy - y - fov) ** 2 + (xx - x - (t % 20)) ** 2 <= radius**2
        phase[inside] = rng.normal(1000, 150, int(inside.sum()))
        fluorescence[inside] += 400.0
    as_uint16 = [np.clip(np.rint(p), 0, 65535).astype(np.uint16) for p in (phase, fluorescence)]
    return as_uint16[0], as_uint16[1]


def write_cell_movie(path: Path, *, n_fovs: int, n_frames: int, size: int = SIZE) -> Path:
    """An OME-TIFF of `n_fovs` images, each T x C(2) x size x size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tifffile.TiffWriter(path, ome=True) as writer:
        for fov in range(n_fovs):

            def planes(fov: int = fov) -> Iterator[np.ndarray]:
                for t in range(n_frames):
                    yield from cell_planes(fov, t, size)

            writer.write(
                planes(),
                shape=(n_frames, 2, size, size),
                dtype=np.uint16,
                photometric="minisblack",
                metadata={"axes": "TCYX", "Channel": {"Name": ["phase", "gfp"]}},
            )
    return path
