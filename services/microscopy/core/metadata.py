"""What a microscopy file holds, in the words of the proto's MicroscopyMetadata."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

TIME_UNIT_MINUTES = "min"
TIME_UNIT_FRAME = "frame"

# Order of the canonical logical axes (P = field of view).
CANONICAL_AXES = "TPCZYX"


@dataclass(frozen=True, slots=True)
class MicroscopyMetadata:
    """Dimensions and acquisition facts of one file; fields map 1:1 to the proto message.

    `shape` is the frame shape of FOV 0; CZI scenes may differ in size, see
    `MicroscopyReader.frame_shape`. `full_shape` lists the sizes of `axes`, which
    keep the canonical order "TPCZYX" and drop axes of size 1 other than Y and X.
    """

    file_path: str
    file_type: str
    n_fovs: int
    n_frames: int
    n_channels: int
    channel_names: tuple[str, ...]
    pixel_size_um: float | None
    time_points: tuple[float, ...]
    time_unit: str
    dtype: str
    shape: tuple[int, int]
    n_z: int
    z_step_um: float | None
    full_shape: tuple[int, ...]
    axes: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }


def canonical_layout(
    *, n_frames: int, n_fovs: int, n_channels: int, n_z: int, height: int, width: int
) -> tuple[str, tuple[int, ...]]:
    """The `axes` string and `full_shape` for these sizes (size-1 axes dropped, Y and X kept)."""
    sizes = {"T": n_frames, "P": n_fovs, "C": n_channels, "Z": n_z, "Y": height, "X": width}
    axes = "".join(axis for axis in CANONICAL_AXES if sizes[axis] > 1 or axis in "YX")
    return axes, tuple(int(sizes[axis]) for axis in axes)


def relative_time_points(
    times_min: Sequence[float] | None, n_frames: int
) -> tuple[tuple[float, ...], str]:
    """Frame times in minutes relative to the first frame, with their unit.

    Falls back to frame indices (unit "frame") when the file recorded no times,
    a different number of them, or times that are not finite and non-decreasing:
    a wrong time axis is worse than an honest index.
    """
    if times_min is not None and len(times_min) == n_frames and n_frames > 0:
        values = [float(v) for v in times_min]
        ordered = all(b >= a for a, b in itertools.pairwise(values))
        if ordered and all(math.isfinite(v) for v in values):
            return tuple(v - values[0] for v in values), TIME_UNIT_MINUTES
    return tuple(float(i) for i in range(n_frames)), TIME_UNIT_FRAME


def default_channel_names(n_channels: int) -> tuple[str, ...]:
    """Names used when a file records none: "C0", "C1", ..."""
    return tuple(f"C{i}" for i in range(n_channels))


def expand_sample_names(names: Sequence[str], samples: int) -> tuple[str, ...]:
    """Channel names once RGB(A) samples are split into channels of their own.

    One unnamed RGB image gives ("R", "G", "B"); a named channel gives "name:R", ...
    """
    if samples <= 1:
        return tuple(names)
    letters = "RGBA" if samples <= 4 else None
    labels = [letters[s] if letters else str(s) for s in range(samples)]
    if len(names) == 1 and names[0] in ("", "C0"):
        return tuple(labels)
    return tuple(f"{name}:{label}" for name in names for label in labels)
