"""Frame reads cost one frame of memory; the reader cache reuses, refreshes and closes readers."""

from __future__ import annotations

import gc
import os
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from services.microscopy.core.readers import ReaderCache, open_reader
from testing.synthetic_tiff import synthetic_plane, write_synthetic_ome_tiff

T, C, H, W = 64, 2, 1024, 1024  # 256 MiB of uint16 pixels
FRAME_BYTES = H * W * 2


@pytest.fixture(scope="module")
def large_ome_tiff(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.ome.tif"
    return write_synthetic_ome_tiff(path, n_frames=T, n_channels=C, height=H, width=W)


def test_writer_keeps_memory_to_a_few_planes(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        write_synthetic_ome_tiff(
            tmp_path / "w.ome.tif", n_frames=16, n_channels=2, height=512, width=512
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert os.path.getsize(tmp_path / "w.ome.tif") > 16 * 2 * 512 * 512 * 2
    assert peak < 6 * 512 * 512 * 4  # a few planes (and the uint32 ramp), not 16 MiB of file


def test_reading_one_frame_allocates_about_one_frame(large_ome_tiff: Path) -> None:
    assert large_ome_tiff.stat().st_size > T * C * FRAME_BYTES
    gc.collect()
    tracemalloc.start()
    try:
        with open_reader(large_ome_tiff) as reader:
            _, open_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            frame = reader.read_frame(0, 37, 1)
            _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(frame, synthetic_plane(37, 1, H, W))
    assert open_peak < 4 * 2**20  # metadata only
    assert FRAME_BYTES <= read_peak < 2.5 * FRAME_BYTES  # the frame (and at most one copy)


def test_cache_reuses_one_reader(tmp_path: Path, real_file) -> None:
    opened: list[Path] = []

    def opener(path: Path):
        opened.append(path)
        return open_reader(path)

    cache = ReaderCache(max_readers=4, opener=opener)
    path = real_file("nd2/arcadia-example-timelapse.nd2")
    frames = [cache.read_frame(path, 0, t, 0) for t in range(10)]
    assert cache.metadata(path).n_frames == 53
    assert opened == [path]
    with open_reader(path) as direct:
        np.testing.assert_array_equal(frames[9], direct.read_frame(0, 9, 0))
    cache.close()
    assert len(cache) == 0


def test_cache_reopens_a_file_changed_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "changing.ome.tif"
    write_synthetic_ome_tiff(path, n_frames=2, n_channels=1, height=8, width=8)
    cache = ReaderCache()
    with cache.reader(path) as first:
        assert first.metadata.n_frames == 2
    write_synthetic_ome_tiff(path, n_frames=3, n_channels=1, height=8, width=8)
    os.utime(path, ns=(1, 10**18))  # a different mtime even on coarse clocks
    with cache.reader(path) as second:
        assert second.metadata.n_frames == 3
    assert first.closed and not second.closed
    assert len(cache) == 1
    cache.close()
    assert second.closed


def test_eviction_waits_for_readers_in_use(tmp_path: Path) -> None:
    paths = [tmp_path / f"f{i}.ome.tif" for i in range(3)]
    for path in paths:
        write_synthetic_ome_tiff(path, n_frames=1, n_channels=1, height=8, width=8)
    cache = ReaderCache(max_readers=1)
    with cache.reader(paths[0]) as held:
        with cache.reader(paths[1]) as other:
            pass
        assert not held.closed  # evicted, but still in use here
        held.read_frame(0, 0, 0)
    assert held.closed  # closed on release
    cache.read_frame(paths[2], 0, 0, 0)
    assert other.closed  # evicted while idle: closed at once
    assert len(cache) == 1
    with cache:
        pass
    assert len(cache) == 0


def test_missing_file_through_the_cache(tmp_path: Path) -> None:
    from common.errors import FILE_NOT_FOUND, NotFound

    with pytest.raises(NotFound) as info:
        ReaderCache().metadata(tmp_path / "gone.czi")
    assert info.value.code == FILE_NOT_FOUND


def test_threads_share_cached_readers(real_file) -> None:
    paths = [real_file("nd2/cluster.nd2"), real_file("tiff/derived-cluster-TZCYX.imagej.tif")]
    cache = ReaderCache(max_readers=2)
    with open_reader(paths[0]) as direct:
        truth = {
            (t, c, z): direct.read_frame(0, t, c, z)
            for t in range(3)
            for c in range(2)
            for z in range(10)
        }
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def work(worker: int) -> None:
        barrier.wait()
        for i, (t, c, z) in enumerate(truth):
            path = paths[(worker + i) % 2]  # both files hold the same pixels
            if not np.array_equal(cache.read_frame(path, 0, t, c, z), truth[t, c, z]):
                errors.append(f"{path.name} {t} {c} {z}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert errors == []
    cache.close()


def test_busy_readers_get_company_up_to_readers_per_file(tmp_path: Path) -> None:
    path = write_synthetic_ome_tiff(
        tmp_path / "shared.ome.tif", n_frames=4, n_channels=1, height=8, width=8
    )
    opened: list[Path] = []

    def opener(p: Path):
        opened.append(p)
        return open_reader(p)

    cache = ReaderCache(max_readers=2, opener=opener, readers_per_file=3)
    with cache.reader(path) as first:
        with cache.reader(path) as second, cache.reader(path) as third:
            assert len({id(first), id(second), id(third)}) == 3  # each busy: another opened
            with cache.reader(path) as fourth:
                assert fourth in (first, second, third)  # the limit: share the least busy
        assert len(opened) == 3 and len(cache) == 3
        with cache.reader(path) as idle:
            assert idle is not first  # an idle reader is preferred to a busy one
    with cache.reader(path):
        pass
    assert len(opened) == 3  # idle readers are reused, never reopened

    other = write_synthetic_ome_tiff(
        tmp_path / "other.ome.tif", n_frames=1, n_channels=1, height=8, width=8
    )
    cache.metadata(other)
    third_file = write_synthetic_ome_tiff(
        tmp_path / "third.ome.tif", n_frames=1, n_channels=1, height=8, width=8
    )
    cache.metadata(third_file)  # max_readers=2 files: the first file's readers go
    assert first.closed and second.closed and third.closed
    assert len(cache) == 2
    cache.close()


def test_parallel_reads_of_one_file_are_correct(large_ome_tiff: Path) -> None:
    cache = ReaderCache(readers_per_file=4)
    planes = [(t, c) for t in range(0, T, 4) for c in range(C)]

    def read(share: list[tuple[int, int]]) -> bool:
        return all(
            np.array_equal(cache.read_frame(large_ome_tiff, 0, t, c), synthetic_plane(t, c, H, W))
            for t, c in share
        )

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(read, [planes[i::4] for i in range(4)]))
    assert 1 <= len(cache) <= 4
    cache.close()
    with pytest.raises(ValueError, match="readers_per_file"):
        ReaderCache(readers_per_file=0)
