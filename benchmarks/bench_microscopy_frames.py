"""Frame reads through the microscopy service next to tifffile reading the same frames.

The file: a synthetic OME-TIFF of 2048 x 2048 uint16 planes (8 MiB each), 3 GiB by
default (MICROGRAPHIA_BENCH_MICROSCOPY_GIB), written once and kept under .bench/.
The frames: 200 planes spread evenly over the whole file, in file order.

- ours: the microscopy service runs in its own process; this process calls its
  gRPC ReadFrame over loopback TCP, as a peer service would, two ways: pixels in
  the answer (made into an ndarray), and pixels written by the service into a
  shared-memory segment of this process (the way for clients on the same machine;
  each frame is a view of the segment until the next read).
- reference: tifffile in this process, one TiffFile kept open, `pages[i].asarray()`.

Two page-cache states, each with one reader and with four concurrent readers
(four client threads on one channel, against four threads each with its own
TiffFile, since tifffile's handles must not be shared between threads unlocked):

- cold: the file's pages are dropped from the page cache (posix_fadvise DONTNEED)
  before every round, so frames come from the disk, as when a multi-GB time-lapse
  is processed. This is the figure the target (>= 0.8) applies to.
- warm: the whole file is in memory; the reference is then a memory copy (GB/s
  that no inter-process transport reaches), shown for transparency.

This process, the receiving end, keeps large buffers in the heap
(common/memory.py), for both ways alike; a client that does not reads about a
third fewer frames/s through the service. Each figure is the best of three interleaved
rounds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from uuid import uuid4

import grpc
import numpy as np
import tifffile

from benchmarks import scaled
from benchmarks.processes import REPO_ROOT, running_services
from benchmarks.report import report
from common.memory import keep_large_buffers
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from micrographia.microscopy.v1 import microscopy_pb2_grpc
from testing.synthetic_tiff import write_synthetic_ome_tiff

SIZE = 2048
CHANNELS = 2
FRAMES_READ = scaled(200, 8)
ROUNDS = scaled(3, 1)
THREADS = 4
PLANE_BYTES = SIZE * SIZE * 2
MAX_MESSAGE = 64 * 1024 * 1024

Plane = tuple[int, int]  # (t, c)
Reader = Callable[[Sequence[Plane]], int]  # reads planes, returns the bytes read


def bench_file(gib: float) -> Path:
    """The synthetic OME-TIFF, written unless a complete one is cached."""
    n_frames = max(1, round(gib * 2**30 / PLANE_BYTES / CHANNELS))
    folder = REPO_ROOT / ".bench" / "microscopy"
    path = folder / f"synthetic-T{n_frames}-C{CHANNELS}-{SIZE}x{SIZE}.ome.tif"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        print(f"   writing {path.name} ({n_frames * CHANNELS * PLANE_BYTES / 2**30:.1f} GiB)")
        write_synthetic_ome_tiff(
            partial, n_frames=n_frames, n_channels=CHANNELS, height=SIZE, width=SIZE
        )
        os.replace(partial, path)  # only a complete file is ever cached
    return path


def spread(n_frames: int, count: int) -> list[Plane]:
    """`count` planes evenly spread over the file, in file order."""
    n_planes = n_frames * CHANNELS
    return [divmod(i * n_planes // count, CHANNELS) for i in range(count)]


def drop_from_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the two ways


class DirectReader:
    """Reads planes with one TiffFile kept open (IFDs parsed once, as the service does)."""

    def __init__(self, path: Path, planes: Sequence[Plane]) -> None:
        self.tif = tifffile.TiffFile(path)
        self.tif.pages.cache = True
        for t, c in planes:
            self.tif.pages[t * CHANNELS + c]  # parse the IFDs before timing

    def __call__(self, planes: Sequence[Plane]) -> int:
        pages = self.tif.pages
        return sum(pages[t * CHANNELS + c].asarray().nbytes for t, c in planes)

    def close(self) -> None:
        self.tif.close()


def service_reader(stub: microscopy_pb2_grpc.MicroscopyServiceStub, path: Path) -> Reader:
    """Reads planes through ReadFrame; each answer becomes an ndarray, as a caller needs."""

    def read(planes: Sequence[Plane]) -> int:
        total = 0
        for t, c in planes:
            address = pb.FrameAddress(file_path=str(path), t=t, channel=c)
            response = stub.ReadFrame(pb.ReadFrameRequest(frame=address), timeout=30)
            frame = np.frombuffer(response.data, response.dtype).reshape(response.shape)
            total += frame.nbytes
        return total

    return read


def shared_memory_reader(stub: microscopy_pb2_grpc.MicroscopyServiceStub, path: Path) -> Reader:
    """Reads planes through ReadFrame into a shared-memory segment of this reader's:
    the service writes each frame there and the answer carries only its shape.
    Each frame is used as a view of the segment until the next read, as a consumer
    that processes one frame at a time would."""
    segment = SharedMemory(create=True, size=PLANE_BYTES, name=f"micrographia-bench-{uuid4().hex}")
    _segments.append(segment)
    target = pb.SharedMemoryTarget(name=segment.name, offset=0, size=PLANE_BYTES)

    def read(planes: Sequence[Plane]) -> int:
        total = 0
        for t, c in planes:
            address = pb.FrameAddress(file_path=str(path), t=t, channel=c)
            request = pb.ReadFrameRequest(frame=address, shared_memory=target)
            response = stub.ReadFrame(request, timeout=30)
            frame = np.ndarray(response.shape, response.dtype, buffer=segment.buf)
            total += frame.nbytes
        return total

    return read


_segments: list[SharedMemory] = []


def concurrently(readers: Sequence[Reader]) -> Reader:
    """A reader that splits the planes over one thread per reader."""

    def read(planes: Sequence[Plane]) -> int:
        shares = [planes[i :: len(readers)] for i in range(len(readers))]
        with ThreadPoolExecutor(len(readers)) as pool:
            return sum(pool.map(lambda reader, share: reader(share), readers, shares))

    return read


def seconds(read: Reader, planes: Sequence[Plane], path: Path, cold: bool) -> float:
    if cold:
        drop_from_page_cache(path)
    started = time.perf_counter()
    total = read(planes)
    elapsed = time.perf_counter() - started
    assert total == len(planes) * PLANE_BYTES
    return elapsed


def compare(label: str, ours: Reader, reference: Reader, planes, path: Path, cold: bool) -> None:
    ours_s, reference_s = [], []
    for _ in range(ROUNDS):
        reference_s.append(seconds(reference, planes, path, cold))
        ours_s.append(seconds(ours, planes, path, cold))
    best, best_reference = min(ours_s), min(reference_s)
    frames, megabytes = len(planes), len(planes) * PLANE_BYTES / 1e6
    target = ">= 0.8" if cold else None
    report(f"{label}: frames/s", frames / best, frames / best_reference, "frames/s", target)
    report(f"{label}: MB/s", megabytes / best, megabytes / best_reference, "MB/s", target)


def check_same_pixels(stub, path: Path, plane: Plane) -> None:
    t, c = plane
    address = pb.FrameAddress(file_path=str(path), t=t, channel=c)
    response = stub.ReadFrame(pb.ReadFrameRequest(frame=address), timeout=30)
    ours = np.frombuffer(response.data, response.dtype).reshape(response.shape)
    with tifffile.TiffFile(path) as tif:
        np.testing.assert_array_equal(ours, tif.pages[t * CHANNELS + c].asarray())


def main() -> None:
    keep_large_buffers()
    gib = float(os.environ.get("MICROGRAPHIA_BENCH_MICROSCOPY_GIB") or scaled(3, 0.1))
    path = bench_file(gib)
    with tifffile.TiffFile(path) as tif:
        n_frames = tif.series[0].shape[0]
    planes = spread(n_frames, FRAMES_READ)
    print(f"   {path.name}: {path.stat().st_size / 2**30:.2f} GiB, {len(planes)} frames of 8 MiB")
    env = {"MICROGRAPHIA_DATA_ROOTS": str(path.parent)}
    options = [("grpc.max_receive_message_length", MAX_MESSAGE)]
    with (
        running_services(["microscopy"], env) as addresses,
        grpc.insecure_channel(addresses["microscopy"], options=options) as channel,
    ):
        stub = microscopy_pb2_grpc.MicroscopyServiceStub(channel)
        check_same_pixels(stub, path, planes[-1])  # also opens the service's reader
        references = [DirectReader(path, planes) for _ in range(THREADS)]
        ways = {
            "ReadFrame": lambda: service_reader(stub, path),
            "ReadFrame to shared memory": lambda: shared_memory_reader(stub, path),
        }
        try:
            for cold in (True, False):
                if not cold:
                    references[0](planes)  # bring the frames into the page cache
                for way, make_reader in ways.items():
                    label = f"{way}, {'cold' if cold else 'warm'} cache"
                    compare(f"{label}, 1 reader", make_reader(), references[0], planes, path, cold)
                    compare(
                        f"{label}, {THREADS} readers",
                        concurrently([make_reader() for _ in range(THREADS)]),
                        concurrently(references),
                        planes,
                        path,
                        cold,
                    )
        finally:
            for reference in references:
                reference.close()
            for segment in _segments:
                segment.close()
                segment.unlink()


if __name__ == "__main__":
    main()
