"""TIFF, OME-TIFF and ImageJ hyperstacks through tifffile.

tifffile describes the image as a "series": axes such as "TZCYX", "TCYXS" or "IYX"
over a sequence of pages (IFDs), each page holding the trailing axes (YX, YXS or
SYX). A frame is read by locating its page and decoding only that page. ImageJ
files over 4 GB keep a single IFD and store the planes contiguously after it;
those planes are read by offset.

Axis letters: T, Z, C map to themselves, S (RGB samples) is folded into the
channels; one other axis of size > 1 (tifffile's I for a plain multi-page file,
Q for "unknown") is taken as time when the file has no T. Multi-image OME-TIFFs
whose images share shape and type are read as one FOV per image.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile

from common.errors import InvalidArgument

from ..metadata import (
    MicroscopyMetadata,
    canonical_layout,
    default_channel_names,
    expand_sample_names,
    relative_time_points,
)
from .base import MicroscopyReader, library_errors
from .tiff_metadata import TiffFacts, imagej_facts, ome_facts, resolution_facts

_KNOWN_AXES = "TZCS"


class _ErrorLog(logging.Handler):
    """Collects ERROR records tifffile logs in this thread while opening a file.

    tifffile reports broken IFD chains and inconsistent ImageJ/OME metadata as
    log errors and carries on with what it could parse; for us that is a corrupt file.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextlib.contextmanager
def _tifffile_errors() -> Iterator[_ErrorLog]:
    log = logging.getLogger("tifffile")
    handler = _ErrorLog()
    log.addHandler(handler)
    try:
        yield handler
    finally:
        log.removeHandler(handler)


class TiffReader(MicroscopyReader):
    """Reader for TIFF, OME-TIFF and ImageJ hyperstack files."""

    file_type = "tiff"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        with _tifffile_errors() as errors:
            failure: InvalidArgument | None = None
            try:
                self._open()
            except InvalidArgument as exc:
                failure = exc
        if errors.messages:
            # tifffile's log says best what broke ("invalid page offset"...), also when it
            # carried on and parsed a plausible but partial file.
            if failure is None:
                self._tif.close()
            raise InvalidArgument(
                f"{self._path.name}: corrupt or truncated TIFF ({errors.messages[0]})",
                path=str(self._path),
            ) from failure
        if failure is not None:
            raise failure

    def _open(self) -> None:
        with library_errors(self._path, "opening TIFF"):
            self._tif = tifffile.TiffFile(self._path)
        try:
            with library_errors(self._path, "reading TIFF structure"):
                self._tif.pages.cache = True  # keep parsed IFDs: frames are read repeatedly
                self._layout()
                self._check_complete()
                self._metadata = self._read_metadata()
        except BaseException:
            self._tif.close()
            raise

    # ------------------------------------------------------------------ layout

    def _layout(self) -> None:
        tif = self._tif
        if not tif.series:
            raise InvalidArgument(f"{self._path.name}: TIFF holds no image", path=str(self._path))
        base = tif.series[0]
        self._series = [base]
        if tif.is_ome:
            self._series += [
                s
                for s in tif.series[1:]
                if s.axes == base.axes and s.shape == base.shape and s.dtype == base.dtype
            ]
        if tif.is_imagej and base.kind != "imagej":
            raise InvalidArgument(
                f"{self._path.name}: ImageJ metadata does not match the image data "
                "(truncated or corrupt file)",
                path=str(self._path),
            )

        axes, shape = base.axes, tuple(base.shape)
        page = base.keyframe
        n_inner = len(page.shape)
        if axes[-n_inner:] != page.axes or "Y" not in axes or "X" not in axes:
            raise InvalidArgument(
                f"{self._path.name}: unsupported TIFF layout {axes} (pages {page.axes})",
                path=str(self._path),
            )
        roles = self._axis_roles(axes, shape)
        self._roles = roles
        self._outer_shape = shape[:-n_inner]
        self._n_pages = math.prod(self._outer_shape)
        self._page_shape = tuple(page.shape)
        self._dtype = np.dtype(base.dtype)
        self._file_dtype = np.dtype(tif.byteorder + self._dtype.char)
        self._size = {role: shape[i] for i, role in enumerate(roles) if role}

    def _axis_roles(self, axes: str, shape: tuple[int, ...]) -> list[str | None]:
        """The role (T, Z, C, S, Y, X or None for a size-1 extra) of each series axis."""
        roles: list[str | None] = [a if a in _KNOWN_AXES + "YX" else None for a in axes]
        if len({r for r in roles if r}) != len([r for r in roles if r]):
            raise InvalidArgument(
                f"{self._path.name}: repeated axes in TIFF layout {axes}", path=str(self._path)
            )
        for i, axis in enumerate(axes):
            if roles[i] is None and shape[i] > 1:
                if "T" in roles:
                    raise InvalidArgument(
                        f"{self._path.name}: unsupported TIFF axis {axis!r} of size {shape[i]} "
                        f"in layout {axes}",
                        path=str(self._path),
                    )
                roles[i] = "T"  # I (plain multi-page) or Q (unknown): a sequence in time
        return roles

    def _check_complete(self) -> None:
        """Refuse files whose pages or pixel data are missing (truncated, broken links)."""
        self._contiguous: list[int | None] = []
        for series in self._series:
            if len(series) >= self._n_pages:
                for page in series[: self._n_pages]:
                    if page is None:
                        raise InvalidArgument(
                            f"{self._path.name}: TIFF lacks image planes (truncated file or "
                            "missing companion file)",
                            path=str(self._path),
                        )
                    spans = zip(page.dataoffsets, page.databytecounts, strict=True)
                    ends = [offset + count for offset, count in spans if offset]
                    # Multi-file OME-TIFF: a page may live in a companion file.
                    if ends and max(ends) > page.parent.filehandle.size:
                        raise InvalidArgument(
                            f"{self._path.name}: TIFF image data runs past the end of the file "
                            "(truncated)",
                            path=str(self._path),
                        )
                self._contiguous.append(None)
            elif series.dataoffset is not None:
                # One IFD, planes stored back to back (ImageJ > 4 GB, "truncated" series).
                end = series.dataoffset + self._n_pages * self._page_bytes
                if end > self._tif.filehandle.size:
                    raise InvalidArgument(
                        f"{self._path.name}: TIFF image data runs past the end of the file "
                        "(truncated)",
                        path=str(self._path),
                    )
                self._contiguous.append(series.dataoffset)
            else:
                raise InvalidArgument(
                    f"{self._path.name}: TIFF has {len(series)} pages, its layout needs "
                    f"{self._n_pages}",
                    path=str(self._path),
                )

    @property
    def _page_bytes(self) -> int:
        return math.prod(self._page_shape) * self._dtype.itemsize

    # ---------------------------------------------------------------- metadata

    def _facts(self, n_frames: int) -> TiffFacts:
        tif, page = self._tif, self._tif.pages.first
        if tif.is_ome and tif.ome_metadata:
            return ome_facts(tif.ome_metadata, n_frames)
        if tif.imagej_metadata:
            return imagej_facts(tif.imagej_metadata, page, n_frames)
        return resolution_facts(page)

    def _read_metadata(self) -> MicroscopyMetadata:
        size = self._size
        n_frames, n_z = size.get("T", 1), size.get("Z", 1)
        recorded_channels, samples = size.get("C", 1), size.get("S", 1)
        n_channels = recorded_channels * samples
        height, width = size["Y"], size["X"]
        facts = self._facts(n_frames)
        names = facts.channel_names
        if names is None or len(names) != recorded_channels:
            names = default_channel_names(recorded_channels)
        time_points, time_unit = relative_time_points(facts.times_min, n_frames)
        axes, full_shape = canonical_layout(
            n_frames=n_frames,
            n_fovs=len(self._series),
            n_channels=n_channels,
            n_z=n_z,
            height=height,
            width=width,
        )
        return MicroscopyMetadata(
            file_path=str(self._path),
            file_type=self.file_type,
            n_fovs=len(self._series),
            n_frames=n_frames,
            n_channels=n_channels,
            channel_names=expand_sample_names(names, samples),
            pixel_size_um=facts.pixel_size_um,
            time_points=time_points,
            time_unit=time_unit,
            dtype=self._dtype.name,
            shape=(height, width),
            n_z=n_z,
            z_step_um=facts.z_step_um if n_z > 1 else None,
            full_shape=full_shape,
            axes=axes,
            size_bytes=os.stat(self._path).st_size,
        )

    # ------------------------------------------------------------------ pixels

    def _read_plane(self, fov: int, t: int, c: int, z: int) -> np.ndarray:
        channel, sample = divmod(c, self._size.get("S", 1))
        wanted = {"T": t, "Z": z, "C": channel, "S": sample}
        index = [slice(None) if r in ("Y", "X") else wanted.get(r or "", 0) for r in self._roles]
        n_outer = len(self._outer_shape)
        number = int(np.ravel_multi_index(index[:n_outer], self._outer_shape)) if n_outer else 0
        page = self._read_page(fov, number)
        plane = page[tuple(index[n_outer:])]
        # A plane cut from a multi-sample page is copied so the page can be freed.
        return plane.copy() if plane.size != page.size else plane

    def _read_page(self, fov: int, number: int) -> np.ndarray:
        offset = self._contiguous[fov]
        if offset is None:
            return self._series[fov][number].asarray()
        count = math.prod(self._page_shape)
        data = self._tif.filehandle.read_array(
            self._file_dtype, count, offset + number * self._page_bytes
        )
        return data.reshape(self._page_shape)

    def _close_handle(self) -> None:
        self._tif.close()
