"""What OpenSlide reports about synthetic and real slides, as the core reads it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openslide
import pytest
from PIL import Image

from common.errors import UNPROCESSABLE_SLIDE, InvalidArgument, NotFound
from services.slides.core.metadata import associated_image, open_slide, read_facts, read_properties

from .conftest import APERIO_MPP, APERIO_SIZE, GENERIC_SIZE


def test_aperio_svs_facts(aperio_svs: Path) -> None:
    with open_slide(aperio_svs) as slide:
        facts = read_facts(slide)
    assert facts.vendor == "aperio"
    assert (facts.width_px, facts.height_px) == APERIO_SIZE
    assert facts.mpp == pytest.approx(APERIO_MPP)
    assert facts.mpp_y == pytest.approx(APERIO_MPP)
    assert facts.objective_power == 40
    assert facts.level_count == 4 == len(facts.levels)
    assert [(level.width, level.height) for level in facts.levels] == [
        (2000, 1500),
        (1000, 750),
        (500, 375),
        (250, 188),
    ]
    assert [level.downsample for level in facts.levels[:3]] == [1.0, 2.0, 4.0]


def test_generic_tiff_without_resolution_has_no_mpp(generic_tiff: Path) -> None:
    with open_slide(generic_tiff) as slide:
        facts = read_facts(slide)
    assert facts.vendor == "generic-tiff"
    assert (facts.width_px, facts.height_px) == GENERIC_SIZE
    assert facts.level_count == 3
    # No default is invented: a wrong scale would corrupt every measurement.
    assert facts.mpp is None and facts.mpp_y is None
    assert facts.objective_power is None


def test_properties_and_associated_images(aperio_svs: Path) -> None:
    with open_slide(aperio_svs) as slide:
        properties = read_properties(slide)
        label = associated_image(slide, "label")
        small = associated_image(slide, "macro", max_size=100)
        with pytest.raises(NotFound, match="no associated image 'barcode'"):
            associated_image(slide, "barcode")
    assert properties.properties["openslide.vendor"] == "aperio"
    assert properties.properties["aperio.AppMag"] == "40"
    assert properties.associated_images == ("label", "macro", "thumbnail")
    assert label.content_type == "image/jpeg"
    image = np.asarray(Image.open(io.BytesIO(label.image)))
    assert image.shape == (120, 300, 3)
    assert image[60, 150].max() < 40 and image[5, 5].min() > 200  # the dark bar, the margin
    assert Image.open(io.BytesIO(small.image)).size == (100, 40)


def test_random_bytes_are_unprocessable(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.svs"
    path.write_bytes(np.random.default_rng(1).bytes(50_000))
    with pytest.raises(InvalidArgument) as caught:
        open_slide(path)
    assert caught.value.code == UNPROCESSABLE_SLIDE
    assert "corrupt.svs" in caught.value.message


# Real scanner files -------------------------------------------------------------


def test_real_hamamatsu_ndpi(real_ndpi: Path) -> None:
    with open_slide(real_ndpi) as slide:
        facts = read_facts(slide)
        properties = read_properties(slide)
    assert facts.vendor == "hamamatsu"
    assert (facts.width_px, facts.height_px) == (3968, 4864)
    assert facts.level_count == 7
    assert [level.downsample for level in facts.levels] == [1, 2, 4, 8, 16, 32, 64]
    assert facts.levels[-1] == facts.levels[-1].__class__(62, 76, 64.0)
    assert facts.mpp == pytest.approx(0.22818, abs=1e-5)
    assert facts.objective_power == 40
    assert properties.associated_images == ("macro",)
    assert properties.properties["tiff.Make"] == "Hamamatsu"


def test_real_generic_tiled_tiff(real_generic_tiff: Path) -> None:
    with open_slide(real_generic_tiff) as slide:
        facts = read_facts(slide)
    assert facts.vendor == "generic-tiff"
    assert (facts.width_px, facts.height_px) == (1101, 1101)
    assert facts.level_count == 3
    assert facts.mpp == pytest.approx(0.2271, abs=1e-4)
    # Level 1 is 550 px of 1101: OpenSlide reports the fractional downsample as is.
    assert facts.levels[1].downsample == pytest.approx(2.0018, abs=1e-4)


def test_real_ome_tiff_is_not_something_openslide_opens(real_ome_tiff: Path) -> None:
    # Observed with openslide-bin 4.0.1: no driver claims this single-image,
    # JPEG-tiled OME-TIFF, so the store refuses it as an unprocessable slide.
    assert openslide.OpenSlide.detect_format(str(real_ome_tiff)) is None
    with pytest.raises(InvalidArgument) as caught:
        open_slide(real_ome_tiff)
    assert caught.value.code == UNPROCESSABLE_SLIDE
    assert "Unsupported" in caught.value.details["reason"]
