"""Zeiss CZI files through pylibCZIrw (Zeiss's own libCZI).

Scenes are fields of view. A scene may be a mosaic of many tiles; libCZI composes
the scene's bounding box at full resolution (zoom 1, pyramid layers ignored),
filling the gaps of non-rectangular mosaics with 0. Scenes may differ in size,
so `frame_shape(fov)` is per FOV and `metadata.shape` is that of FOV 0.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from pylibCZIrw import czi as pyczi

from common.errors import InvalidArgument

from ..metadata import (
    MicroscopyMetadata,
    canonical_layout,
    default_channel_names,
    expand_sample_names,
    relative_time_points,
)
from ..units import length_to_um
from .base import MicroscopyReader, library_errors
from .czi_layout import check_czi_complete

# libCZI pixel types: numpy dtype and samples per pixel.
_PIXEL_TYPES: dict[str, tuple[str, int]] = {
    "Gray8": ("uint8", 1),
    "Gray16": ("uint16", 1),
    "Gray32Float": ("float32", 1),
    "Bgr24": ("uint8", 3),
    "Bgr48": ("uint16", 3),
    "Bgr96Float": ("float32", 3),
}
_GRAY_BY_DTYPE = {"uint8": "Gray8", "uint16": "Gray16", "float32": "Gray32Float"}
_BGR_BY_DTYPE = {"uint8": "Bgr24", "uint16": "Bgr48", "float32": "Bgr96Float"}
_PLANE_AXES = ("T", "C", "Z")
_ONE_MILLIMETRE = 1e-3  # in metres


def _child(tree: Any, *keys: str) -> Any:
    """tree[k1][k2]... or None when any level is missing."""
    for key in keys:
        if not isinstance(tree, dict):
            return None
        tree = tree.get(key)
    return tree


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class CZIReader(MicroscopyReader):
    """Reader for Zeiss CZI files; multi-scene files give one FOV per scene."""

    file_type = "czi"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        check_czi_complete(self._path)
        with library_errors(self._path, "opening CZI"):
            self._czi = pyczi.CziReader(str(self._path))
        try:
            with library_errors(self._path, "reading CZI metadata"):
                self._layout()
                self._metadata = self._read_metadata()
        except BaseException:
            self._czi.close()
            raise

    def _layout(self) -> None:
        box = self._czi.total_bounding_box_no_pyramid
        unknown = {
            axis: stop - start
            for axis, (start, stop) in box.items()
            if axis not in (*_PLANE_AXES, "X", "Y") and stop - start > 1
        }
        if unknown:
            raise InvalidArgument(
                f"{self._path.name}: unsupported CZI dimensions {unknown}", path=str(self._path)
            )
        self._starts = {axis: box.get(axis, (0, 1))[0] for axis in _PLANE_AXES}
        self._sizes = {
            axis: max(box.get(axis, (0, 1))[1] - self._starts[axis], 1) for axis in _PLANE_AXES
        }

        scenes = self._czi.scenes_bounding_rectangle_no_pyramid
        if scenes:
            self._scenes: list[int | None] = sorted(scenes)
            self._rects = [scenes[s] for s in self._scenes]
        else:
            self._scenes = [None]
            self._rects = [self._czi.total_bounding_rectangle_no_pyramid]

        kinds = {_PIXEL_TYPES.get(name) for name in self._czi.pixel_types.values()}
        if None in kinds or not kinds:
            raise InvalidArgument(
                f"{self._path.name}: unsupported CZI pixel types {self._czi.pixel_types}",
                path=str(self._path),
            )
        samples = {s for _, s in kinds}
        if len(samples) > 1:
            raise InvalidArgument(
                f"{self._path.name}: CZI mixes gray and colour channels", path=str(self._path)
            )
        self._samples = samples.pop()
        dtype = np.result_type(*(d for d, _ in kinds))
        self._dtype = np.dtype(dtype)
        # Mixed bit depths are read at the widest one; uniform files as stored.
        by_dtype = _BGR_BY_DTYPE if self._samples == 3 else _GRAY_BY_DTYPE
        self._pixel_type = by_dtype[self._dtype.name] if len(kinds) > 1 else None

    def _frame_shape(self, fov: int) -> tuple[int, int]:
        rect = self._rects[fov]
        return (rect.h, rect.w)

    def _read_metadata(self) -> MicroscopyMetadata:
        document = _child(self._czi.metadata, "ImageDocument", "Metadata") or {}
        n_frames, n_z = self._sizes["T"], self._sizes["Z"]
        recorded_channels = self._sizes["C"]
        n_channels = recorded_channels * self._samples
        height, width = self._frame_shape(0)
        axes, full_shape = canonical_layout(
            n_frames=n_frames,
            n_fovs=len(self._scenes),
            n_channels=n_channels,
            n_z=n_z,
            height=height,
            width=width,
        )
        time_points, time_unit = relative_time_points(self._frame_times_min(document), n_frames)
        names = self._channel_names(document, recorded_channels)
        return MicroscopyMetadata(
            file_path=str(self._path),
            file_type=self.file_type,
            n_fovs=len(self._scenes),
            n_frames=n_frames,
            n_channels=n_channels,
            channel_names=expand_sample_names(names, self._samples),
            pixel_size_um=self._distance_um(document, "X"),
            time_points=time_points,
            time_unit=time_unit,
            dtype=self._dtype.name,
            shape=(height, width),
            n_z=n_z,
            z_step_um=self._distance_um(document, "Z") if n_z > 1 else None,
            full_shape=full_shape,
            axes=axes,
            size_bytes=os.stat(self._path).st_size,
        )

    @staticmethod
    def _channel_names(document: dict, count: int) -> tuple[str, ...]:
        channels = _as_list(
            _child(document, "Information", "Image", "Dimensions", "Channels", "Channel")
        )
        names = [ch.get("@Name") or ch.get("@Id") or "" for ch in channels if isinstance(ch, dict)]
        if len(names) != count or not all(names):
            return default_channel_names(count)
        return tuple(names)

    @staticmethod
    def _distance_um(document: dict, axis: str) -> float | None:
        """Scaling/Items/Distance[@Id=axis]: metres per pixel, whatever DefaultUnitFormat says.

        pylibCZIrw's own writer stores micrometres there instead; no microscope has
        pixels of a millimetre or more, so such values are taken as micrometres.
        """
        for item in _as_list(_child(document, "Scaling", "Items", "Distance")):
            if isinstance(item, dict) and item.get("@Id") == axis and item.get("Value"):
                value = float(item["Value"])
                if not value > 0:
                    return None
                return length_to_um(value, "m" if value < _ONE_MILLIMETRE else "um")
        return None

    def _frame_times_min(self, document: dict) -> list[float] | None:
        """Frame times from Dimensions/T: a list of offsets or a fixed interval, in seconds."""
        positions = _child(document, "Information", "Image", "Dimensions", "T", "Positions")
        n_frames = self._sizes["T"]
        try:
            offsets = _child(positions, "List", "Offsets")
            if offsets:
                return [float(v) / 60.0 for v in str(offsets).split()]
            increment = _child(positions, "Interval", "Increment")
            if increment is not None:
                return [t * float(increment) / 60.0 for t in range(n_frames)]
        except (TypeError, ValueError):
            return None
        return None

    def _read_plane(self, fov: int, t: int, c: int, z: int) -> np.ndarray:
        channel, sample = divmod(c, self._samples)
        rect = self._rects[fov]
        plane = {
            "T": self._starts["T"] + t,
            "C": self._starts["C"] + channel,
            "Z": self._starts["Z"] + z,
        }
        pixels = self._czi.read(
            roi=(rect.x, rect.y, rect.w, rect.h),
            plane=plane,
            scene=self._scenes[fov],
            zoom=1.0,
            pixel_type=self._pixel_type,
        )
        # libCZI returns (H, W, samples) with colour in BGR order.
        index = 0 if self._samples == 1 else self._samples - 1 - sample
        return np.array(pixels[:, :, index], copy=True)

    def _close_handle(self) -> None:
        self._czi.close()
