"""Region reads: clamping, the header, chunking, alpha flattening, limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest
from PIL import Image

from common.errors import InvalidArgument
from services.slides.core import new_slide_id
from services.slides.core.images import flatten_alpha
from services.slides.core.regions import (
    clamp_region,
    iter_chunks,
    plan_region,
    read_region_array,
)

from .conftest import APERIO_MPP


def openslide_rgb(path: Path, x: int, y: int, level: int, width: int, height: int) -> np.ndarray:
    """One read_region call, composited onto white as the core does."""
    with openslide.OpenSlide(str(path)) as slide:
        rgba = slide.read_region((x, y), level, (width, height))
    return np.asarray(flatten_alpha(rgba))


def reassemble(chunks: list[bytes], height: int, width: int) -> np.ndarray:
    return np.frombuffer(b"".join(chunks), np.uint8).reshape(height, width, 3)


def test_clamp_region() -> None:
    assert clamp_region(10, 20, 30, 40, 100, 100) == (10, 20, 30, 40)
    assert clamp_region(-10, -5, 30, 40, 100, 100) == (0, 0, 20, 35)
    assert clamp_region(90, 95, 30, 40, 100, 100) == (90, 95, 10, 5)
    assert clamp_region(-50, -50, 500, 500, 100, 80) == (0, 0, 100, 80)


@pytest.mark.parametrize(
    ("x", "y", "width", "height"),
    [(100, 0, 10, 10), (0, 100, 10, 10), (-20, 0, 20, 10), (5, 5, 0, 10), (5, 5, 10, -1)],
)
def test_empty_regions_are_refused(x: int, y: int, width: int, height: int) -> None:
    with pytest.raises(InvalidArgument):
        clamp_region(x, y, width, height, 100, 100)


def test_header_of_a_clamped_region_at_level_2(aperio_svs: Path) -> None:
    with openslide.OpenSlide(str(aperio_svs)) as slide:
        header = plan_region(slide, 1800, -100, 1000, 600, level=2, mpp=APERIO_MPP)
    # Level-0 rectangle clamped to x 1800..2000, y 0..500; at downsample 4: 50 x 125.
    assert (header.x, header.y) == (1800, 0)
    assert (header.width, header.height) == (50, 125)
    assert (header.level, header.downsample, header.channels) == (2, 4.0, 3)
    assert header.mpp == APERIO_MPP
    assert header.nbytes == 50 * 125 * 3


@pytest.mark.parametrize(
    ("x", "y", "width", "height", "level"),
    [
        (0, 0, 2000, 1500, 0),
        (-30, 100, 700, 333, 1),
        (123, 77, 1800, 1400, 2),
        (1500, 1000, 9000, 9000, 0),
    ],
)
def test_chunks_reassemble_to_openslide_read_region(
    x: int, y: int, width: int, height: int, level: int, aperio_svs: Path
) -> None:
    chunk_bytes = 10_000  # small, to force many chunks and bands
    with openslide.OpenSlide(str(aperio_svs)) as slide:
        header = plan_region(slide, x, y, width, height, level)
        chunks = list(iter_chunks(slide, header, chunk_bytes, band_bytes=50_000))
    assert all(0 < len(chunk) <= chunk_bytes for chunk in chunks)
    assert sum(map(len, chunks)) == header.nbytes
    pixels = reassemble(chunks, header.height, header.width)
    expected = openslide_rgb(aperio_svs, header.x, header.y, level, header.width, header.height)
    assert np.array_equal(pixels, expected)


def test_band_reads_are_bounded(aperio_svs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[tuple[int, int]] = []
    original = openslide.OpenSlide.read_region

    def recording(self, location, level, size):
        sizes.append(size)
        return original(self, location, level, size)

    monkeypatch.setattr(openslide.OpenSlide, "read_region", recording)
    with openslide.OpenSlide(str(aperio_svs)) as slide:
        header = plan_region(slide, 0, 0, 2000, 1500)
        total = sum(len(chunk) for chunk in iter_chunks(slide, header, 65_536, 400_000))
    assert total == 2000 * 1500 * 3
    # 400 kB bands of 2000 px RGBA rows: 50 rows each, never the whole region.
    assert sizes == [(2000, 50)] * 30


def test_region_over_the_limit_names_the_limit(aperio_svs: Path) -> None:
    with openslide.OpenSlide(str(aperio_svs)) as slide:
        with pytest.raises(InvalidArgument, match="limit of 10000 pixels") as caught:
            plan_region(slide, 0, 0, 200, 200, max_pixels=10_000)
        assert caught.value.details == {"limit": "10000", "requested": "40000"}
        # The same rectangle at level 2 is 50 x 50 pixels: within the limit.
        assert plan_region(slide, 0, 0, 200, 200, level=2, max_pixels=10_000).width == 50
        with pytest.raises(InvalidArgument, match="level 4 does not exist"):
            plan_region(slide, 0, 0, 10, 10, level=4)


def test_missing_tiles_are_flattened_onto_white(aperio_with_hole: Path) -> None:
    # Tile (col 2, row 1) is missing: level-0 pixels x 512..767, y 256..511.
    with openslide.OpenSlide(str(aperio_with_hole)) as slide:
        raw = np.asarray(slide.read_region((400, 200), 0, (500, 400)))
        header, pixels = read_region_array(slide, 400, 200, 500, 400)
    assert (header.width, header.height) == (500, 400)
    hole = raw[..., 3] == 0
    assert hole.sum() == 256 * 256  # OpenSlide reports it transparent...
    assert (pixels[hole] == 255).all()  # ...the core returns white there
    assert np.array_equal(pixels[~hole], raw[~hole][:, :3])  # and the slide elsewhere


def test_flatten_alpha_composites_partial_alpha() -> None:
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, 0] = (200, 100, 0, 255)  # opaque: unchanged
    rgba[0, 1] = (200, 100, 0, 0)  # transparent: white
    rgba[0, 2] = (0, 0, 0, 128)  # half black over white: mid grey
    rgb = np.asarray(flatten_alpha(Image.fromarray(rgba, "RGBA")))
    assert rgb.shape == (1, 3, 3)
    assert rgb[0, 0].tolist() == [200, 100, 0]
    assert rgb[0, 1].tolist() == [255, 255, 255]
    assert all(126 <= value <= 128 for value in rgb[0, 2])


def test_real_ndpi_region_through_the_library(real_ndpi: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: real_ndpi}, region_chunk_bytes=100_000)
    stream = library.open_region(slide_id, 3000, 4000, 2000, 2000, level=2)
    header = stream.header
    assert (header.x, header.y, header.width, header.height) == (3000, 4000, 242, 216)
    assert header.downsample == 4.0
    assert header.mpp == pytest.approx(0.22818, abs=1e-5)
    chunks = list(stream.chunks)
    assert max(map(len, chunks)) <= 100_000
    pixels = reassemble(chunks, header.height, header.width)
    assert np.array_equal(pixels, openslide_rgb(real_ndpi, 3000, 4000, 2, 242, 216))
    same_header, array = library.read_region(slide_id, 3000, 4000, 2000, 2000, level=2)
    assert same_header == header and np.array_equal(array, pixels)


def test_fractional_downsample_bands_stay_close(real_generic_tiff: Path) -> None:
    # Level 1 of the real generic TIFF has downsample 2.0018: bands start on
    # rounded level-0 rows, a sub-pixel shift OpenSlide's resampling shows.
    with openslide.OpenSlide(str(real_generic_tiff)) as slide:
        header, banded = read_region_array(slide, 0, 0, 1101, 1101, 1, band_bytes=550 * 4 * 40)
    whole = openslide_rgb(real_generic_tiff, 0, 0, 1, header.width, header.height)
    assert banded.shape == whole.shape == (550, 550, 3)
    assert np.array_equal(banded[:40], whole[:40])  # the first band is exact
    assert np.abs(banded.astype(int) - whole.astype(int)).mean() < 3


def test_the_stream_reads_only_when_iterated(aperio_svs: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    stream = library.open_region(slide_id, 0, 0, 100, 100)
    library.handles.close()  # nothing is held open by an unread stream
    assert len(library.handles) == 0
    assert sum(map(len, stream.chunks)) == 100 * 100 * 3
    with pytest.raises(InvalidArgument, match="outside the slide"):
        library.open_region(slide_id, 5000, 0, 10, 10)
