"""The slides gRPC service on loopback: uploads as client streams, region reads
as server streams, and what is left on disk when a stream breaks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import grpc
import numpy as np
import openslide
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from PIL import Image

from common.workers import Workers
from micrographia.slides.v1 import slides_pb2 as pb
from micrographia.slides.v1 import slides_pb2_grpc
from services.slides.core import SlideLibrary, SlidesConfig
from services.slides.core.registry import SlideRegistry
from services.slides.servicer import SlidesServicer

from .conftest import APERIO_SIZE, SlidesPlatform

CHUNK = 256 * 1024


def upload_messages(path: Path, filename: str, **header: object) -> Iterator[pb.UploadSlideRequest]:
    yield pb.UploadSlideRequest(header=pb.UploadSlideHeader(filename=filename, **header))
    data = path.read_bytes()
    for start in range(0, len(data), CHUNK):
        yield pb.UploadSlideRequest(chunk=data[start : start + CHUNK])


def error_reason(error: grpc.RpcError) -> str:
    """The documented error code the service put in its ErrorInfo."""
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    return info.reason


def uploads_in_progress(folder: Path) -> list[str]:
    return [entry.name for entry in folder.iterdir() if entry.name.startswith(".upload-")]


@pytest.fixture(scope="module")
def stub(slides: SlidesPlatform) -> Iterator[slides_pb2_grpc.SlidesServiceStub]:
    with grpc.insecure_channel(slides.slides_address) as channel:
        yield slides_pb2_grpc.SlidesServiceStub(channel)


@pytest.fixture(scope="module")
def hole_slide(stub, aperio_with_hole: Path) -> str:
    """The Aperio slide with a missing (transparent) tile, uploaded over gRPC."""
    response = stub.UploadSlide(upload_messages(aperio_with_hole, "hole.svs"), timeout=30)
    return response.slide.id


def openslide_rgb(path: Path, x: int, y: int, level: int, width: int, height: int) -> np.ndarray:
    """read_region with its alpha laid over white, as the service promises."""
    with openslide.OpenSlide(str(path)) as slide:
        rgba = slide.read_region((x, y), level, (width, height))
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    return np.asarray(Image.composite(rgba, white, rgba))


def read_region(stub, **request: object) -> tuple[pb.RegionHeader, bytes, list[int]]:
    responses = list(stub.ReadRegion(pb.ReadRegionRequest(**request), timeout=30))
    assert responses[0].WhichOneof("payload") == "header"
    chunks = [response.chunk for response in responses[1:]]
    assert all(response.WhichOneof("payload") == "chunk" for response in responses[1:])
    return responses[0].header, b"".join(chunks), [len(chunk) for chunk in chunks]


# Regions ----------------------------------------------------------------------------


def test_region_over_several_chunks_equals_openslide(stub, hole_slide, aperio_with_hole: Path):
    # 1000 x 700 RGB = 2.1 MB: three 1 MiB chunks, across the missing tile at
    # (512..767, 256..511), which must come out white, not black.
    header, data, sizes = read_region(
        stub, slide_id=hole_slide, x=300, y=100, width=1000, height=700
    )
    assert (header.x, header.y, header.width, header.height) == (300, 100, 1000, 700)
    assert (header.level, header.downsample, header.channels) == (0, 1.0, 3)
    assert header.mpp == pytest.approx(0.25)
    assert len(sizes) == 3 and max(sizes) <= 1024 * 1024
    pixels = np.frombuffer(data, np.uint8).reshape(700, 1000, 3)
    expected = openslide_rgb(aperio_with_hole, 300, 100, 0, 1000, 700)
    assert np.array_equal(pixels, expected)
    assert (pixels[200:400, 250:450] == 255).all()  # the hole, flattened onto white


def test_region_is_clamped_to_the_slide(stub, hole_slide, aperio_with_hole: Path) -> None:
    width, _ = APERIO_SIZE
    header, data, _ = read_region(
        stub, slide_id=hole_slide, x=width - 150, y=-40, width=400, height=240, level=1
    )
    # Level-0 rectangle (1850, 0)..(2000, 200) read at level 1 (downsample 2).
    assert (header.x, header.y, header.width, header.height) == (width - 150, 0, 75, 100)
    assert header.level == 1 and header.downsample == 2.0
    pixels = np.frombuffer(data, np.uint8).reshape(100, 75, 3)
    assert np.array_equal(pixels, openslide_rgb(aperio_with_hole, width - 150, 0, 1, 75, 100))


@pytest.mark.parametrize(
    ("request_fields", "code"),
    [
        ({"x": 5000, "y": 5000, "width": 10, "height": 10}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"x": 0, "y": 0, "width": 0, "height": 10}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"x": 0, "y": 0, "width": 10, "height": 10, "level": 7}, grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_bad_regions_are_refused_before_any_pixel(stub, hole_slide, request_fields, code):
    with pytest.raises(grpc.RpcError) as caught:
        read_region(stub, slide_id=hole_slide, **request_fields)
    assert caught.value.code() == code


def test_region_of_an_unknown_slide_is_not_found(stub) -> None:
    request = {"slide_id": "00000000-0000-4000-8000-000000000000", "width": 10, "height": 10}
    with pytest.raises(grpc.RpcError) as caught:
        read_region(stub, **request)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


# Thumbnails and deletion --------------------------------------------------------------


def test_thumbnail_says_when_it_came_from_the_disk_cache(stub, hole_slide) -> None:
    request = pb.GetThumbnailRequest(slide_id=hole_slide, max_size=99)
    first = stub.GetThumbnail(request, timeout=10)
    second = stub.GetThumbnail(request, timeout=10)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.image == second.image and second.content_type == "image/jpeg"


def test_delete_of_a_slide_never_analysed_reports_no_boxes(stub, aperio_svs: Path) -> None:
    slide = stub.UploadSlide(upload_messages(aperio_svs, "short-lived.svs"), timeout=30).slide
    assert stub.DeleteSlide(pb.DeleteSlideRequest(slide_id=slide.id), timeout=10).deleted_boxes == 0


# Uploads ----------------------------------------------------------------------------


def test_upload_returns_the_registered_slide(stub, slides: SlidesPlatform, aperio_svs: Path):
    size = aperio_svs.stat().st_size
    slide = stub.UploadSlide(
        upload_messages(aperio_svs, "declared.svs", size_bytes=size), timeout=30
    ).slide
    assert slide.filename == "declared.svs" and slide.size_bytes == size
    assert [level.downsample for level in slide.levels][:3] == [1.0, 2.0, 4.0]
    assert stub.GetSlide(pb.GetSlideRequest(slide_id=slide.id), timeout=10).slide == slide
    stub.DeleteSlide(pb.DeleteSlideRequest(slide_id=slide.id), timeout=10)


def test_check_upload_judges_the_header_without_storing_anything(
    stub, slides: SlidesPlatform
) -> None:
    header = pb.UploadSlideHeader(filename="C:\\scans\\case.SVS", size_bytes=1000)
    answer = stub.CheckUpload(pb.CheckUploadRequest(header=header), timeout=10)
    assert answer.filename == "case.SVS" and answer.max_upload_bytes == 10 * 1024**3
    for header, code in [
        (pb.UploadSlideHeader(filename="notes.txt"), grpc.StatusCode.INVALID_ARGUMENT),
        (pb.UploadSlideHeader(filename=""), grpc.StatusCode.INVALID_ARGUMENT),
        (
            pb.UploadSlideHeader(filename="a.svs", size_bytes=10 * 1024**3 + 1),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        ),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            stub.CheckUpload(pb.CheckUploadRequest(header=header), timeout=10)
        assert caught.value.code() == code
    assert uploads_in_progress(slides.slides_dir) == []


def test_upload_formats_are_exactly_what_an_upload_may_be(stub) -> None:
    formats = stub.GetUploadFormats(pb.GetUploadFormatsRequest(), timeout=10)
    assert ".zip" in formats.extensions and ".svs" in formats.extensions
    for extension in formats.extensions:  # each one offered passes the upload's check
        header = pb.UploadSlideHeader(filename=f"case{extension.upper()}")
        stub.CheckUpload(pb.CheckUploadRequest(header=header), timeout=10)
    assert list(formats.zipped_extensions) == [".mrxs", ".vms"]
    for extension in [*formats.zipped_extensions, ".txt", ".jpg"]:  # and none other
        assert extension not in formats.extensions
        header = pb.UploadSlideHeader(filename=f"case{extension}")
        with pytest.raises(grpc.RpcError) as caught:
            stub.CheckUpload(pb.CheckUploadRequest(header=header), timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_upload_must_start_with_a_header(stub, slides: SlidesPlatform) -> None:
    for messages in (
        [pb.UploadSlideRequest(chunk=b"data")],
        [],
        [
            pb.UploadSlideRequest(header=pb.UploadSlideHeader(filename="a.svs")),
            pb.UploadSlideRequest(chunk=b"data"),
            pb.UploadSlideRequest(header=pb.UploadSlideHeader(filename="b.svs")),
        ],
    ):
        with pytest.raises(grpc.RpcError) as caught:
            stub.UploadSlide(iter(messages), timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert uploads_in_progress(slides.slides_dir) == []


def test_declared_size_over_the_limit_is_refused_before_the_data(stub) -> None:
    sent = []

    def messages():
        yield pb.UploadSlideRequest(
            header=pb.UploadSlideHeader(filename="big.svs", size_bytes=11 * 1024**3)
        )
        # Never reached when the service answers on the header alone.
        sent.append(True)
        threading.Event().wait(10)

    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadSlide(messages(), timeout=20)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(caught.value) == "PAYLOAD_TOO_LARGE"
    assert time.monotonic() - started < 5


def test_client_leaving_mid_upload_leaves_nothing(
    stub, slides: SlidesPlatform, aperio_svs: Path
) -> None:
    release = threading.Event()

    def messages():
        for number, message in enumerate(upload_messages(aperio_svs, "abandoned.svs")):
            if number == 3:
                release.wait(20)
                return
            yield message

    before = slides.entries()
    call = stub.UploadSlide.future(messages(), timeout=30)
    deadline = time.monotonic() + 10
    while not uploads_in_progress(slides.slides_dir):
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.02)
    call.cancel()
    release.set()
    while uploads_in_progress(slides.slides_dir):
        assert time.monotonic() < deadline, "the partial upload was left behind"
        time.sleep(0.02)
    assert slides.entries() == before


async def test_a_failed_registry_insert_removes_the_stored_file(
    database_url: str, aperio_svs: Path, tmp_path: Path
) -> None:
    """The file is in place before the row; when the insert fails it goes again.

    The insert fails for real: the pool's search_path names a schema without
    the slides table.
    """
    pool = await asyncpg.create_pool(
        database_url, min_size=1, max_size=1, server_settings={"search_path": "no_such_schema"}
    )
    library = SlideLibrary(SlidesConfig(slides_dir=tmp_path / "slides"))
    workers = Workers(2, "test")
    servicer = SlidesServicer(
        library, SlideRegistry(pool), workers, spatial=lambda: pytest.fail("no peer on upload")
    )

    async def messages():
        for message in upload_messages(aperio_svs, "orphan.svs"):
            yield message

    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await servicer.UploadSlide(messages(), context=None)
        assert [entry.name for entry in (tmp_path / "slides").iterdir()] == []
    finally:
        workers.close()
        library.close()
        await pool.close()
