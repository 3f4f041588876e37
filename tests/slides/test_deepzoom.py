"""Deep Zoom: the DZI descriptor of the contract, tiles identical to DeepZoomGenerator's."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import openslide
import pytest
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

from common.errors import NotFound
from services.slides.core import new_slide_id
from services.slides.core.deepzoom import (
    DEEPZOOM_NAMESPACE,
    dzi_xml,
    new_deepzoom_generator,
    render_tile,
)

from .conftest import APERIO_SIZE


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def reference_tile(path: Path, level: int, col: int, row: int, quality: int = 75) -> bytes:
    """What the openslide-python example server sends for this tile."""
    with openslide.OpenSlide(str(path)) as slide:
        generator = DeepZoomGenerator(slide, tile_size=254, overlap=1, limit_bounds=False)
        tile = generator.get_tile(level, (col, row))
        buffer = io.BytesIO()
        tile.save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()


def addresses(generator: DeepZoomGenerator, level: int) -> list[tuple[int, int]]:
    """Corner, edge and interior tiles of a level."""
    cols, rows = generator.level_tiles[level]
    picked = {(0, 0), (cols - 1, 0), (0, rows - 1), (cols - 1, rows - 1), (cols // 2, rows // 2)}
    return sorted(picked)


def test_dzi_xml_matches_the_contract() -> None:
    xml = dzi_xml(98304, 75264)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml)
    assert root.tag == f"{{{DEEPZOOM_NAMESPACE}}}Image"
    assert root.attrib == {"Format": "jpeg", "Overlap": "1", "TileSize": "254"}
    (size,) = list(root)
    assert size.tag == f"{{{DEEPZOOM_NAMESPACE}}}Size"
    assert size.attrib == {"Width": "98304", "Height": "75264"}


def test_descriptor_of_a_slide(aperio_svs: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    descriptor = library.deepzoom_descriptor(slide_id)
    assert (descriptor.width, descriptor.height) == APERIO_SIZE
    assert (descriptor.tile_size, descriptor.overlap, descriptor.format) == (254, 1, "jpeg")
    # ceil(log2(2000)) + 1 levels, from 1x1 up to the full slide.
    assert descriptor.level_count == 12
    size = ET.fromstring(descriptor.xml).find(f"{{{DEEPZOOM_NAMESPACE}}}Size")
    assert size.attrib == {"Width": "2000", "Height": "1500"}


@pytest.mark.parametrize(
    "fixture", ["aperio_svs", "generic_tiff", "real_ndpi", "real_generic_tiff"]
)
def test_tiles_equal_deepzoomgenerator_output(fixture: str, request, make_library) -> None:
    path: Path = request.getfixturevalue(fixture)
    slide_id = new_slide_id()
    library = make_library({slide_id: path})
    with openslide.OpenSlide(str(path)) as slide:
        generator = DeepZoomGenerator(slide, tile_size=254, overlap=1, limit_bounds=False)
        top = generator.level_count - 1
        checked = 0
        # Full resolution, two downsampled levels, and the single-tile levels.
        for level in (top, top - 1, top - 3, 8, 2):
            for col, row in addresses(generator, level):
                ours = library.deepzoom_tile(slide_id, level, col, row)
                expected = generator.get_tile(level, (col, row))
                assert ours.content_type == "image/jpeg"
                pixels = decode(ours.image)
                assert pixels.shape == (expected.size[1], expected.size[0], 3)
                # Same pixels in, same encoder and quality: the same JPEG bytes,
                # so the decoded arrays are equal too.
                reference = reference_tile(path, level, col, row)
                assert ours.image == reference
                assert np.array_equal(pixels, decode(reference))
                checked += 1
        assert checked >= 12


def test_edge_tiles_are_smaller_and_have_no_outer_overlap(aperio_svs: Path) -> None:
    with openslide.OpenSlide(str(aperio_svs)) as slide:
        generator = new_deepzoom_generator(slide)
        top = generator.level_count - 1
        cols, rows = generator.level_tiles[top]
        corner = decode(render_tile(generator, top, cols - 1, rows - 1))
        interior = decode(render_tile(generator, top, 1, 1))
    # 2000 = 7 * 254 + 222; 1500 = 5 * 254 + 230; one pixel of overlap on the inner side.
    assert (cols, rows) == (8, 6)
    assert corner.shape == (230 + 1, 222 + 1, 3)
    assert interior.shape == (256, 256, 3)


@pytest.mark.parametrize(
    ("level", "col", "row"),
    [(-1, 0, 0), (12, 0, 0), (11, 8, 0), (11, 0, 6), (11, -1, 0), (0, 1, 0), (5, 0, 1)],
)
def test_tiles_outside_the_pyramid_are_not_found(
    level: int, col: int, row: int, aperio_svs: Path, make_library
) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    with pytest.raises(NotFound) as caught:
        library.deepzoom_tile(slide_id, level, col, row)
    assert "does not exist" in caught.value.message
    assert library.tiles.stats().entries == 0


def test_unknown_slide_is_not_found(make_library) -> None:
    library = make_library({})
    with pytest.raises(NotFound):
        library.deepzoom_tile(new_slide_id(), 0, 0, 0)


def test_second_request_is_served_from_the_tile_cache(aperio_svs: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    first = library.deepzoom_tile(slide_id, 11, 3, 2)
    # Evict the open slide: a cached tile must not need it again.
    library.handles.invalidate(slide_id)
    second = library.deepzoom_tile(slide_id, 11, 3, 2)
    assert second.image == first.image
    stats = library.tiles.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 1, 1)
    assert stats.bytes == len(first.image)
    assert slide_id not in library.handles


def test_tile_quality_setting_is_applied(aperio_svs: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs}, tile_quality=95)
    tile = library.deepzoom_tile(slide_id, 11, 1, 1)
    assert tile.image == reference_tile(aperio_svs, 11, 1, 1, quality=95)
    assert tile.image != reference_tile(aperio_svs, 11, 1, 1, quality=75)
