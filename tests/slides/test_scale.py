"""Scale bar arithmetic and its errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from common.errors import InvalidArgument
from services.slides.core import ASSUMED_MPP, new_slide_id, pixel_size, scale_bar


def test_pixels_for_a_distance() -> None:
    bar = scale_bar(0.25, 100, level=0, downsamples=[1.0, 4.0])
    assert (bar.target_um, bar.pixels_at_level, bar.level, bar.mpp) == (100.0, 400.0, 0, 0.25)
    assert scale_bar(0.25, 100, level=1, downsamples=[1.0, 4.0]).pixels_at_level == 100.0
    # The contract's example: 100 um at 0.2528 um/px.
    assert scale_bar(0.2528, None).pixels_at_level == pytest.approx(395.57, abs=0.01)


@pytest.mark.parametrize("target", [0.0, -10.0, math.nan, math.inf])
def test_target_must_be_positive(target: float) -> None:
    with pytest.raises(InvalidArgument, match="target_um"):
        scale_bar(0.25, target)


@pytest.mark.parametrize("level", [-1, 2, 7])
def test_level_outside_the_pyramid_is_a_bad_argument(level: int) -> None:
    with pytest.raises(InvalidArgument, match=f"level {level} does not exist"):
        scale_bar(0.25, 100, level=level, downsamples=[1.0, 2.0])


def test_a_file_without_mpp_gets_the_assumed_one() -> None:
    assert pixel_size(None) == (ASSUMED_MPP, True) == (0.25, True)
    assert pixel_size(None, 0.5) == (0.5, True)
    assert pixel_size(0.2528) == (0.2528, False)


def test_scale_bar_of_slides(
    aperio_svs: Path, generic_tiff: Path, real_ndpi: Path, make_library
) -> None:
    aperio, generic, ndpi = new_slide_id(), new_slide_id(), new_slide_id()
    library = make_library({aperio: aperio_svs, generic: generic_tiff, ndpi: real_ndpi})
    assert library.scale_bar(aperio, 50, level=2).pixels_at_level == pytest.approx(50.0)
    bar = library.scale_bar(ndpi, level=3)
    assert bar.mpp == pytest.approx(0.22818, abs=1e-5)
    assert bar.pixels_at_level == pytest.approx(100 / (0.2281750559 * 8))
    assumed = library.scale_bar(generic, 50)
    assert (assumed.mpp, assumed.mpp_assumed) == (0.25, True)
    assert assumed.pixels_at_level == pytest.approx(200.0)
    assert library.scale_bar(ndpi).mpp_assumed is False
    with pytest.raises(InvalidArgument):
        library.scale_bar(ndpi, level=7)


def test_a_target_too_large_for_any_pixel_count_is_refused() -> None:
    """1e308 um over a pixel size below 1 is past any float: refused, not null."""
    with pytest.raises(InvalidArgument, match="too large"):
        scale_bar(0.25, 1e308, 0, (1.0,))
    assert math.isfinite(scale_bar(0.25, 1e300, 0, (1.0,)).pixels_at_level)
