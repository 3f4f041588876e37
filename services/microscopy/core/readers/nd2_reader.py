"""Nikon ND2 files through the `nd2` library.

ND2 stores one "sequence" frame per loop coordinate (position P, time T, Z); the
channels (and RGB samples) of that coordinate live side by side inside the frame.
We map (fov, t, z) to the sequence index through nd2's `loop_indices` and read
that single frame with `ND2File.read_frame`, which memory-maps only its bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import nd2
import numpy as np

from common.errors import InvalidArgument

from ..metadata import (
    MicroscopyMetadata,
    canonical_layout,
    default_channel_names,
    expand_sample_names,
    relative_time_points,
)
from .base import MicroscopyReader, library_errors

# Loop axes the reader understands; any other loop of size > 1 is refused.
_LOOP_AXES = ("P", "T", "Z", "C")
_FRAME_AXES = frozenset("YXS")


class ND2Reader(MicroscopyReader):
    """Reader for Nikon ND2 files; multi-position files give one FOV per position."""

    file_type = "nd2"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        with library_errors(self._path, "opening ND2"):
            self._file = nd2.ND2File(self._path)
        try:
            with library_errors(self._path, "reading ND2 metadata"):
                self._layout()
                self._metadata = self._read_metadata()
        except BaseException:
            self._file.close()
            raise

    def _layout(self) -> None:
        sizes = dict(self._file.sizes)
        unknown = {
            k: v for k, v in sizes.items() if k not in _LOOP_AXES and k not in _FRAME_AXES and v > 1
        }
        if unknown:
            raise InvalidArgument(
                f"{self._path.name}: unsupported ND2 loop axes {unknown}", path=str(self._path)
            )
        self._sizes = sizes
        self._samples = sizes.get("S", 1)
        indices = self._file.loop_indices
        # Usually channels share a frame; a few files acquire them as a loop instead.
        self._channel_is_loop = any("C" in coords for coords in indices)
        key_axes = _LOOP_AXES if self._channel_is_loop else _LOOP_AXES[:3]
        self._seq_index = {
            tuple(coords.get(axis, 0) for axis in key_axes): seq
            for seq, coords in enumerate(indices)
        }
        channels_in_frame = 1 if self._channel_is_loop else sizes.get("C", 1)
        self._frame_layout = (channels_in_frame, sizes["Y"], sizes["X"], self._samples)

    def _sequence(self, fov: int, t: int, z: int, channel: int) -> int:
        key = (fov, t, z, channel) if self._channel_is_loop else (fov, t, z)
        seq = self._seq_index.get(key)
        if seq is None:
            raise InvalidArgument(
                f"{self._path.name}: frame fov={fov} t={t} z={z} was not recorded "
                "(acquisition stopped early?)",
                path=str(self._path),
            )
        return seq

    def _read_metadata(self) -> MicroscopyMetadata:
        f, sizes = self._file, self._sizes
        n_fovs, n_frames, n_z = sizes.get("P", 1), sizes.get("T", 1), sizes.get("Z", 1)
        recorded_channels = sizes.get("C", 1)
        n_channels = recorded_channels * self._samples
        height, width = sizes["Y"], sizes["X"]
        names = self._channel_names(recorded_channels)
        axes, full_shape = canonical_layout(
            n_frames=n_frames,
            n_fovs=n_fovs,
            n_channels=n_channels,
            n_z=n_z,
            height=height,
            width=width,
        )
        time_points, time_unit = relative_time_points(self._frame_times_min(n_frames), n_frames)
        return MicroscopyMetadata(
            file_path=str(self._path),
            file_type=self.file_type,
            n_fovs=n_fovs,
            n_frames=n_frames,
            n_channels=n_channels,
            channel_names=expand_sample_names(names, self._samples),
            pixel_size_um=self._pixel_size_um(),
            time_points=time_points,
            time_unit=time_unit,
            dtype=np.dtype(f.dtype).name,
            shape=(height, width),
            n_z=n_z,
            z_step_um=self._z_step_um() if n_z > 1 else None,
            full_shape=full_shape,
            axes=axes,
            size_bytes=os.stat(self._path).st_size,
        )

    def _channel_names(self, count: int) -> tuple[str, ...]:
        channels = getattr(self._file.metadata, "channels", None) or []
        names = [ch.channel.name for ch in channels if ch.channel and ch.channel.name]
        return tuple(names) if len(names) == count else default_channel_names(count)

    def _calibration(self) -> tuple[tuple[bool, bool, bool], tuple[float, float, float]] | None:
        channels = getattr(self._file.metadata, "channels", None)
        if not channels or channels[0].volume is None:
            return None
        volume = channels[0].volume
        return tuple(volume.axesCalibrated), tuple(volume.axesCalibration)

    def _pixel_size_um(self) -> float | None:
        calibration = self._calibration()
        if calibration is None:
            size = self._file.voxel_size().x  # legacy files
            return float(size) if size > 0 else None
        calibrated, values = calibration
        return float(values[0]) if calibrated[0] and values[0] > 0 else None

    def _z_step_um(self) -> float | None:
        step = abs(float(self._file.voxel_size().z))
        return step if step > 0 else None

    def _frame_times_min(self, n_frames: int) -> list[float] | None:
        """Acquisition time of each time point of FOV 0 (first Z, first channel)."""
        times = []
        try:
            for t in range(n_frames):
                meta = self._file.frame_metadata(self._sequence(0, t, 0, 0))
                times.append(meta.channels[0].time.relativeTimeMs / 60_000.0)
        except Exception:  # legacy files and odd experiments keep no per-frame times
            return None
        return times

    def _read_plane(self, fov: int, t: int, c: int, z: int) -> np.ndarray:
        channel, sample = divmod(c, self._samples)
        seq = self._sequence(fov, t, z, channel)
        # nd2 squeezes size-1 axes away; restore (channels, Y, X, samples).
        frame = self._file.read_frame(seq).reshape(self._frame_layout)
        in_frame = 0 if self._channel_is_loop else channel
        # Copy: the frame is a view of nd2's memory map, which dies with the file.
        return np.array(frame[in_frame, :, :, sample], copy=True)

    def _close_handle(self) -> None:
        self._file.close()
