"""Scale bars: how many pixels of a pyramid level span a physical distance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from common.errors import FailedPrecondition, InvalidArgument

DEFAULT_TARGET_UM = 100.0


@dataclass(frozen=True)
class ScaleBar:
    """Pixels spanning `target_um` at `level` (proto GetScaleBarResponse)."""

    target_um: float
    pixels_at_level: float
    level: int
    mpp: float


def scale_bar(
    mpp: float | None,
    target_um: float | None = DEFAULT_TARGET_UM,
    level: int = 0,
    downsamples: Sequence[float] = (1.0,),
) -> ScaleBar:
    """pixels_at_level = target_um / (mpp * downsamples[level]).

    Raises FailedPrecondition when the slide has no mpp (nothing to scale by;
    the request is fine, the slide lacks the fact), InvalidArgument for a
    target that is not a positive finite number or a level outside the
    pyramid. The level is a query parameter of an existing slide, so a bad one
    is a bad argument (400), not a missing resource (404 would read as "slide
    not found").
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
    if mpp is None:
        raise FailedPrecondition(
            "the slide does not record its pixel size (no openslide.mpp-x property), "
            "so no scale bar can be drawn",
            reason="mpp unknown",
        )
    pixels = target_um / (mpp * downsamples[level])
    return ScaleBar(target_um=float(target_um), pixels_at_level=pixels, level=level, mpp=mpp)
