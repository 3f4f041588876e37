"""Frame rendering: a decodable PNG of the right size with the documented contrast."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from common.errors import InvalidArgument
from services.microscopy.core.readers import open_reader
from services.microscopy.core.render import render_png


def decode(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image)


def test_percentile_range_maps_to_full_8_bits() -> None:
    frame = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100) * 3
    result = render_png(frame, 1, 99)
    png, width, height, lo, hi = result  # unpacks like the documented tuple
    assert (width, height) == (100, 100)
    assert lo == pytest.approx(np.percentile(frame, 1))
    assert hi == pytest.approx(np.percentile(frame, 99))
    pixels = decode(png)
    assert pixels.dtype == np.uint8 and pixels.shape == (100, 100)
    assert (pixels[frame <= lo] == 0).all()
    assert (pixels[frame >= hi] == 255).all()
    middle = np.argmin(np.abs(frame - (lo + hi) / 2))
    assert abs(int(pixels.flat[middle]) - 128) <= 1
    assert (np.diff(pixels.ravel().astype(int)) >= 0).all()  # monotonic mapping


def test_constant_frame_renders_black_without_dividing_by_zero() -> None:
    with np.errstate(all="raise"):
        result = render_png(np.full((10, 20), 700, np.uint16))
    assert (result.display_min, result.display_max) == (700.0, 700.0)
    assert (decode(result.png) == 0).all()


def test_float_frame_with_nan_and_inf() -> None:
    frame = np.linspace(-1.0, 1.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    frame[0, 0], frame[0, 1], frame[0, 2] = np.nan, np.inf, -np.inf
    result = render_png(frame, 0, 100)
    assert result.display_min == pytest.approx(frame[0, 3])
    assert result.display_max == pytest.approx(1.0)
    pixels = decode(result.png)
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 255


def test_downscale_keeps_aspect_ratio_and_never_enlarges() -> None:
    frame = np.random.default_rng(0).integers(0, 4000, (300, 200), dtype=np.uint16)
    small = render_png(frame, max_size=150)
    assert (small.width, small.height) == (100, 150)
    assert decode(small.png).shape == (150, 100)
    same = render_png(frame, max_size=1000)
    assert (same.width, same.height) == (200, 300)


def test_rgb_frame_shares_one_contrast_range() -> None:
    rgb = np.zeros((8, 8, 3), np.uint16)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1000, 500, 0
    result = render_png(rgb, 0, 100)
    pixels = decode(result.png)
    assert pixels.shape == (8, 8, 3)
    assert tuple(pixels[0, 0]) == (255, 128, 0)


def test_bool_mask_renders() -> None:
    mask = np.zeros((4, 4), bool)
    mask[1:3, 1:3] = True
    pixels = decode(render_png(mask, 0, 100).png)
    assert (pixels == mask * 255).all()


@pytest.mark.parametrize(
    ("frame", "kwargs"),
    [
        (np.zeros((4, 4)), {"low_percentile": 60, "high_percentile": 50}),
        (np.zeros((4, 4)), {"low_percentile": -1}),
        (np.zeros((4, 4)), {"high_percentile": 101}),
        (np.zeros((4, 4)), {"low_percentile": float("nan")}),
        (np.zeros((4, 4)), {"max_size": -5}),
        (np.zeros((4, 4)), {"max_size": 2.5}),
        (np.zeros((4, 4, 2)), {}),
        (np.zeros((4, 4, 5)), {}),
        (np.zeros((0, 4)), {}),
        (np.zeros((4, 4), complex), {}),
    ],
)
def test_bad_render_requests(frame: np.ndarray, kwargs: dict) -> None:
    with pytest.raises(InvalidArgument):
        render_png(frame, **kwargs)


def test_real_frame_renders(real_file) -> None:
    with open_reader(real_file("czi/aicspylibczi-CD_s_1_t_3_c_2_z_5.czi")) as reader:
        frame = reader.read_frame(0, 1, 0, 2)
    result = render_png(frame, max_size=120)
    assert (result.width, result.height) == (120, 85)
    pixels = decode(result.png)
    assert pixels.min() == 0 and pixels.max() == 255
    assert frame.min() <= result.display_min < result.display_max <= frame.max()
