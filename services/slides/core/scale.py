"""Scale bars: how many pixels of a pyramid level span a physical distance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from common.errors import InvalidArgument

DEFAULT_TARGET_UM = 100.0
# Microns per pixel assumed for a slide whose file records none, as Slidekick's
# SlideService.mpp falls back to a default: 0.25, a 40x scan (PanNuke's, the
# model's own resolution). Slides say `mpp_assumed` beside it.
ASSUMED_MPP = 0.25


def pixel_size(mpp: float | None, assumed_mpp: float = ASSUMED_MPP) -> tuple[float, bool]:
    """The level-0 microns per pixel to use, and whether it is assumed."""
    return (assumed_mpp, True) if mpp is None else (mpp, False)


@dataclass(frozen=True)
class ScaleBar:
    """Pixels spanning `target_um` at `level` (proto GetScaleBarResponse)."""

    target_um: float
    pixels_at_level: float
    level: int
    mpp: float
    mpp_assumed: bool = False


def scale_bar(
    mpp: float,
    target_um: float | None = DEFAULT_TARGET_UM,
    level: int = 0,
    downsamples: Sequence[float] = (1.0,),
    *,
    mpp_assumed: bool = False,
) -> ScaleBar:
    """pixels_at_level = target_um / (mpp * downsamples[level]).

    `mpp` is the slide's pixel size (`pixel_size`: assumed when its file has
    none). Raises InvalidArgument for a target that is not a positive finite
    number or a level outside the pyramid. The level is a query parameter of an
    existing slide, so a bad one is a bad argument (400), not a missing resource
    (404 would read as "slide not found").
    """
    if target_um is None:
        target_um = DEFAULT_TARGET_UM
    if not (math.isfinite(target_um) and target_um > 0):
        raise InvalidArgument(
            f"target_um must be a positive number, got {target_um}", target_um=target_um
        )
    if not 0 <= level < len(downsamples):
        raise InvalidArgument(
            f"level {level} does not exist (levels 0..{len(downsamples) - 1})", level=level
        )
    pixels = target_um / (mpp * downsamples[level])
    if not math.isfinite(pixels):  # e.g. 1e308 um: no number of pixels says it
        raise InvalidArgument(
            f"target_um {target_um:g} is too large for a scale bar", target_um=target_um
        )
    return ScaleBar(
        target_um=float(target_um),
        pixels_at_level=pixels,
        level=level,
        mpp=mpp,
        mpp_assumed=mpp_assumed,
    )
