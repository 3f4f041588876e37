"""Thumbnails are rendered once, written atomically, then served from disk alone."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import openslide
import pytest
from PIL import Image

from common.errors import InvalidArgument, NotFound
from services.slides.core import new_slide_id
from services.slides.core.thumbnails import THUMBNAIL_QUALITY


def test_first_call_renders_and_caches_second_call_reads_the_file(
    aperio_svs: Path, make_library, monkeypatch: pytest.MonkeyPatch
) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    first = library.thumbnail(slide_id)
    assert first.from_cache is False
    assert first.content_type == "image/jpeg"
    image = Image.open(io.BytesIO(first.image))
    assert image.format == "JPEG"
    assert image.size == (200, 150)  # longest edge 200, aspect 2000 x 1500 kept

    cached = library.store.slides_dir / ".thumbnails" / f"{slide_id}_200.jpg"
    assert cached.read_bytes() == first.image
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temp files
    mtime = cached.stat().st_mtime_ns

    # Prove the second call does not touch OpenSlide: no slide open, and
    # opening one would fail.
    library.handles.close()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("OpenSlide was opened for a cached thumbnail")

    monkeypatch.setattr(openslide, "OpenSlide", refuse)
    second = library.thumbnail(slide_id, 200)
    assert second.from_cache is True
    assert second.image == first.image
    assert cached.stat().st_mtime_ns == mtime
    assert len(library.handles) == 0


def test_thumbnail_is_openslide_get_thumbnail_as_jpeg(real_ndpi: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: real_ndpi})
    thumb = library.thumbnail(slide_id, max_size=300)
    with openslide.OpenSlide(str(real_ndpi)) as slide:
        expected = slide.get_thumbnail((300, 300))
    buffer = io.BytesIO()
    expected.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY)
    assert expected.size == (245, 300)  # 4864 high -> 300; 3968 wide -> 245
    assert thumb.image == buffer.getvalue()


def test_sizes_are_cached_separately(aperio_svs: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    small = library.thumbnail(slide_id, 64)
    large = library.thumbnail(slide_id, 400)
    assert Image.open(io.BytesIO(small.image)).size == (64, 48)
    assert Image.open(io.BytesIO(large.image)).size == (400, 300)
    names = sorted(p.name for p in library.thumbnails.cache_dir.iterdir())
    assert names == [f"{slide_id}_400.jpg", f"{slide_id}_64.jpg"]
    assert library.thumbnails.invalidate(slide_id) == 2
    assert not any(library.thumbnails.cache_dir.iterdir())


@pytest.mark.parametrize("size", [0, -5, 4097, 100_000])
def test_bad_sizes_are_refused(size: int, aperio_svs: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    with pytest.raises(InvalidArgument, match="max_size must be between 1 and 4096"):
        library.thumbnail(slide_id, size)


def test_bad_or_unknown_ids(make_library) -> None:
    library = make_library({})
    with pytest.raises(InvalidArgument):
        library.thumbnail("../../etc/passwd")
    with pytest.raises(NotFound):
        library.thumbnail(new_slide_id())
    assert not library.thumbnails.cache_dir.exists()


def folder_bytes(folder: Path) -> dict[str, int]:
    return {entry.name: entry.stat().st_size for entry in folder.iterdir()}


def test_the_cache_stays_within_its_budget_dropping_the_least_recently_used(
    aperio_svs: Path, make_library
) -> None:
    # Every size from 1 to 4096 is a file of its own: without a bound, asking for
    # many sizes fills the disk.
    slide_id = new_slide_id()
    budget = 60_000
    library = make_library({slide_id: aperio_svs}, thumbnail_cache_bytes=budget)
    folder = library.thumbnails.cache_dir
    library.thumbnail(slide_id, 100)
    for size in range(110, 300, 10):
        library.thumbnail(slide_id, size)
        library.thumbnail(slide_id, 100)  # kept in use: never the one evicted
        on_disk = folder_bytes(folder)
        assert sum(on_disk.values()) <= budget
        assert sum(on_disk.values()) == library.thumbnails.cached_bytes
        assert {f"{slide_id}_100.jpg", f"{slide_id}_{size}.jpg"} <= on_disk.keys()
    assert f"{slide_id}_110.jpg" not in folder_bytes(folder)  # the oldest went first
    assert library.thumbnail(slide_id, 110).from_cache is False  # and renders again
    assert library.thumbnail(slide_id, 100).from_cache is True


def test_a_restart_indexes_the_files_there_and_trims_to_its_budget(
    aperio_svs: Path, make_library
) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs})
    for size in (100, 200, 300, 400):
        library.thumbnail(slide_id, size)
    folder = library.thumbnails.cache_dir
    leftover = folder / f".{slide_id}_500.jpg.deadbeef.tmp"  # a crash mid-write, long ago
    leftover.write_bytes(b"half")
    os.utime(leftover, (time.time() - 7200, time.time() - 7200))
    sizes = folder_bytes(folder)
    newest_two = sizes[f"{slide_id}_300.jpg"] + sizes[f"{slide_id}_400.jpg"]
    for age, size in enumerate((400, 300, 200, 100)):  # written in order, oldest first
        stamp = time.time() - 100 * (age + 1)
        os.utime(folder / f"{slide_id}_{size}.jpg", (stamp, stamp))

    restarted = make_library({slide_id: aperio_svs}, thumbnail_cache_bytes=newest_two)
    assert restarted.thumbnails.cached_bytes == newest_two
    assert sorted(folder_bytes(folder)) == [f"{slide_id}_300.jpg", f"{slide_id}_400.jpg"]
    assert restarted.thumbnail(slide_id, 400).from_cache is True


def test_a_zero_budget_keeps_no_thumbnails(aperio_svs: Path, make_library) -> None:
    slide_id = new_slide_id()
    library = make_library({slide_id: aperio_svs}, thumbnail_cache_bytes=0)
    assert library.thumbnail(slide_id).from_cache is False
    assert library.thumbnail(slide_id).from_cache is False
    assert not library.thumbnails.cache_dir.exists() or not any(
        library.thumbnails.cache_dir.iterdir()
    )
