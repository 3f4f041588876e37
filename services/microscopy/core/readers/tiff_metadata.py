"""Physical metadata of TIFF files: OME-XML, ImageJ hyperstack tags, resolution tags.

Each source gives what it knows as a `TiffFacts`; the TIFF reader prefers OME,
then ImageJ, then the plain resolution tags.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tifffile

from ..units import length_to_um, time_to_minutes_factor


@dataclass(frozen=True, slots=True)
class TiffFacts:
    """Acquisition facts one metadata source knows; None where it is silent."""

    channel_names: tuple[str, ...] | None = None
    pixel_size_um: float | None = None
    z_step_um: float | None = None
    times_min: list[float] | None = None


def _local(tag: str) -> str:
    """Tag name without its XML namespace ("{ns}Pixels" -> "Pixels")."""
    return tag.rpartition("}")[2]


def _positive(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value > 0 else None


def _length_attr(element: ET.Element, name: str) -> float | None:
    raw = element.get(name)
    if raw is None:
        return None
    return _positive(length_to_um(float(raw), element.get(f"{name}Unit", "µm")))


def ome_facts(xml: str, n_frames: int) -> TiffFacts:
    """Facts of the first OME Image (FOV 0): channels, physical sizes, frame times.

    Frame times come from each time point's first Plane DeltaT (relative to the
    acquisition start, in DeltaTUnit, default seconds) or else from TimeIncrement.
    """
    root = ET.fromstring(xml)
    pixels = next((e for e in root.iter() if _local(e.tag) == "Pixels"), None)
    if pixels is None:
        return TiffFacts()
    channels = [e for e in pixels if _local(e.tag) == "Channel"]
    names = tuple(ch.get("Name") or "" for ch in channels)
    times: dict[int, float] = {}
    for plane in (e for e in pixels if _local(e.tag) == "Plane"):
        delta, factor = plane.get("DeltaT"), time_to_minutes_factor(plane.get("DeltaTUnit", "s"))
        if delta is None or factor is None:
            continue
        t = int(plane.get("TheT", 0))
        # The earliest plane of a time point (first channel / z) dates it.
        times[t] = min(times.get(t, math.inf), float(delta) * factor)
    frame_times: list[float] | None = None
    if times and len(times) == n_frames and set(times) == set(range(n_frames)):
        frame_times = [times[t] for t in range(n_frames)]
    elif pixels.get("TimeIncrement") is not None:
        factor = time_to_minutes_factor(pixels.get("TimeIncrementUnit", "s"))
        if factor is not None:
            increment = float(pixels.get("TimeIncrement")) * factor
            frame_times = [t * increment for t in range(n_frames)]
    return TiffFacts(
        channel_names=names if names and all(names) else None,
        pixel_size_um=_length_attr(pixels, "PhysicalSizeX"),
        z_step_um=_length_attr(pixels, "PhysicalSizeZ"),
        times_min=frame_times,
    )


def imagej_facts(imagej: Mapping[str, Any], page: tifffile.TiffPage, n_frames: int) -> TiffFacts:
    """Facts of an ImageJ hyperstack: `unit`, XResolution (pixels per unit), `spacing`,
    `finterval` (in `tunit`, ImageJ's default seconds)."""
    unit = str(imagej.get("unit", "") or "")
    pixel_size = None
    x_per_unit = page.resolution[0] if page.resolution else 0
    if x_per_unit and x_per_unit > 0:
        pixel_size = _positive(length_to_um(1.0 / x_per_unit, unit))
    spacing = imagej.get("spacing")
    z_step = _positive(length_to_um(float(spacing), unit)) if spacing else None
    times = None
    interval = imagej.get("finterval")
    factor = time_to_minutes_factor(str(imagej.get("tunit", "s") or "s"))
    if interval and float(interval) > 0 and factor is not None:
        times = [t * float(interval) * factor for t in range(n_frames)]
    return TiffFacts(pixel_size_um=pixel_size, z_step_um=z_step, times_min=times)


_RESOLUTION_UNITS = {3: "cm", 4: "mm", 5: "um"}  # TIFF RESUNIT; inch (2) is not physical here


def resolution_facts(page: tifffile.TiffPage) -> TiffFacts:
    """Pixel size from XResolution/ResolutionUnit when the unit is metric."""
    unit = _RESOLUTION_UNITS.get(int(page.resolutionunit))
    x_per_unit = page.resolution[0] if page.resolution else 0
    if unit is None or not x_per_unit or x_per_unit <= 0:
        return TiffFacts()
    return TiffFacts(pixel_size_um=_positive(length_to_um(1.0 / x_per_unit, unit)))
