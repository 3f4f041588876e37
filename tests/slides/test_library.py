"""SlideLibrary end to end: upload, read every way, delete, all through slide ids."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common.errors import NotFound
from services.slides.core import new_slide_id

from .conftest import APERIO_SIZE


def upload(library, path: Path, name: str):
    with library.store.begin_upload(name, declared_size=path.stat().st_size) as pending:
        pending.write(path.read_bytes())
        return pending.finish()


def test_upload_read_delete(aperio_svs: Path, make_library) -> None:
    library = make_library()
    record = upload(library, aperio_svs, "case.svs")
    slide_id = record.id

    facts = library.describe(slide_id)
    assert (facts.width_px, facts.height_px) == APERIO_SIZE
    assert facts.levels == record.levels
    assert library.properties(slide_id).associated_images == ("label", "macro", "thumbnail")
    label = library.associated_image(slide_id, "label", max_size=150)
    assert Image.open(io.BytesIO(label.image)).size == (150, 60)

    descriptor = library.deepzoom_descriptor(slide_id)
    tile = library.deepzoom_tile(slide_id, descriptor.level_count - 1, 0, 0)
    assert Image.open(io.BytesIO(tile.image)).size == (255, 255)
    thumbnail = library.thumbnail(slide_id)
    assert library.scale_bar(slide_id).pixels_at_level == pytest.approx(400.0)
    header, pixels = library.read_region(slide_id, 100, 100, 50, 40)
    assert pixels.shape == (40, 50, 3) and header.mpp == pytest.approx(0.25)

    slides_dir = library.store.slides_dir
    thumbnail_file = slides_dir / ".thumbnails" / f"{slide_id}_200.jpg"
    assert thumbnail_file.read_bytes() == thumbnail.image
    assert slide_id in library.handles and library.tiles.stats().entries == 1

    assert library.delete(slide_id) is True
    assert not Path(record.stored_path).exists()
    assert not thumbnail_file.exists()
    assert slide_id not in library.handles
    assert library.tiles.stats().entries == 0
    assert sorted(p.name for p in slides_dir.iterdir()) == [".thumbnails"]
    with pytest.raises(NotFound):
        library.deepzoom_tile(slide_id, descriptor.level_count - 1, 0, 0)
    with pytest.raises(NotFound):
        library.thumbnail(slide_id)
    assert library.delete(slide_id) is False


def test_concurrent_tiles_from_many_threads(
    aperio_svs: Path, generic_tiff: Path, real_ndpi: Path, make_library
) -> None:
    slides = {new_slide_id(): path for path in (aperio_svs, generic_tiff, real_ndpi)}
    # One open slide for three: every other request evicts one in use.
    library = make_library(slides, open_slides=1, tile_cache_bytes=0)
    requests = []
    for slide_id in slides:
        descriptor = library.deepzoom_descriptor(slide_id)
        top = descriptor.level_count - 1
        requests += [
            (slide_id, top - k, col, row) for k in (0, 1) for col in (0, 1) for row in (0, 1)
        ]
    sequential = [library.deepzoom_tile(*request).image for request in requests]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(
            pool.map(lambda request: library.deepzoom_tile(*request).image, requests * 4)
        )
    assert parallel == sequential * 4


def test_region_stream_of_an_uploaded_zip(aperio_svs: Path, make_library, tmp_path: Path) -> None:
    archive = tmp_path / "slide.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(aperio_svs, "inner/slide.svs")
    library = make_library(region_chunk_bytes=4096)
    record = upload(library, archive, "slide.zip")
    stream = library.open_region(record.id, 1900, 1400, 500, 500, level=1)
    chunks = list(stream.chunks)
    assert (stream.header.width, stream.header.height) == (50, 50)
    assert max(map(len, chunks)) <= 4096
    pixels = np.frombuffer(b"".join(chunks), np.uint8).reshape(50, 50, 3)
    _, same = library.read_region(record.id, 1900, 1400, 500, 500, level=1)
    assert np.array_equal(pixels, same)
    assert library.delete(record.id) is True
    assert not (library.store.slides_dir / record.id).exists()
