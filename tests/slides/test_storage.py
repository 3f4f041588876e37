"""Uploads: names, limits, OpenSlide validation, zipped slides, and nothing left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest

from common.errors import (
    PAYLOAD_TOO_LARGE,
    UNPROCESSABLE_SLIDE,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from services.slides.core import SlideStore, new_slide_id, parse_slide_id, sanitize_filename
from services.slides.core.storage import receive_upload

from .conftest import APERIO_MPP, APERIO_SIZE, ZIP_BOMB_UNPACKED


def chunks_of(path: Path, size: int = 64 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as file:
        while chunk := file.read(size):
            yield chunk


def upload_file(store: SlideStore, source: Path, filename: str, **kwargs: object):
    with store.begin_upload(filename, **kwargs) as upload:
        for chunk in chunks_of(source):
            upload.write(chunk)
        return upload.finish()


def listing(folder: Path) -> list[str]:
    """Everything under a folder, relative, sorted."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture
def store(tmp_path: Path) -> SlideStore:
    return SlideStore(tmp_path / "slides")


# File names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("slide.svs", "slide.svs"),
        ("../../etc/passwd.svs", "passwd.svs"),
        ("/abs/path/x.ndpi", "x.ndpi"),
        ("C:\\scans\\case 1.SVS", "case 1.SVS"),
        ("..\\..\\win.tif", "win.tif"),
        ("  spaced.tif ", "spaced.tif"),
        # Bidirectional controls, which make a name display as another, are dropped.
        ("x\u202egpj.svs", "xgpj.svs"),
        ("\u2066case\u2069 \u200e1\u200f\u061c.svs", "case 1.svs"),
        ("\u202a\u202b\u202c\u202dlabs.tif", "labs.tif"),
        ("scans/\u2067\u2068a.tif", "a.tif"),
    ],
)
def test_sanitize_strips_path_parts(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


@pytest.mark.parametrize(
    "raw",
    [
        *["", "   ", ".", "..", "a/..", "dir/", "x\\.", "bad\x00.svs", "new\nline.svs", "a" * 300],
        *["\u202e\u200f", "a/\u202e"],  # nothing left once bidi controls go
    ],
)
def test_sanitize_refuses_names_that_name_nothing(raw: str) -> None:
    with pytest.raises(InvalidArgument):
        sanitize_filename(raw)


@pytest.mark.parametrize("name", ["slide.exe", "slide.svs.exe", "noextension", "image.png"])
def test_unsupported_extensions_are_refused_by_name(name: str, store: SlideStore) -> None:
    with pytest.raises(InvalidArgument, match="unsupported file extension") as caught:
        store.begin_upload(name)
    assert caught.value.details["extension"] == os.path.splitext(name)[1].lower()
    assert listing(store.slides_dir) == []


@pytest.mark.parametrize("name", ["case.mrxs", "CASE.VMS"])
def test_bare_multi_file_slides_must_come_zipped(name: str, store: SlideStore) -> None:
    with pytest.raises(InvalidArgument, match=r"upload a \.zip"):
        store.begin_upload(name)


def test_check_upload_answers_as_begin_upload_would_without_touching_disk(
    store: SlideStore,
) -> None:
    assert store.check_upload("../scans/Case.SVS", declared_size=10) == "Case.SVS"
    with pytest.raises(InvalidArgument, match="unsupported file extension"):
        store.check_upload("notes.txt")
    with pytest.raises(ResourceExhausted) as caught:
        store.check_upload("case.svs", declared_size=store.max_upload_bytes + 1)
    assert caught.value.code == PAYLOAD_TOO_LARGE
    assert listing(store.slides_dir) == []


# Single-file uploads -------------------------------------------------------------


def test_upload_happy_path(aperio_svs: Path, store: SlideStore) -> None:
    record = upload_file(store, aperio_svs, "Case 7.SVS", declared_size=aperio_svs.stat().st_size)
    assert parse_slide_id(record.id) == record.id
    stored = Path(record.stored_path)
    assert stored == store.slides_dir / f"{record.id}.svs"
    assert stored.read_bytes() == aperio_svs.read_bytes()
    assert listing(store.slides_dir) == [stored.name]  # no temp file left
    assert record.filename == "Case 7.SVS"
    assert record.size_bytes == aperio_svs.stat().st_size
    assert (record.vendor, record.width_px, record.height_px) == ("aperio", *APERIO_SIZE)
    assert record.mpp == pytest.approx(APERIO_MPP) and record.objective_power == 40
    assert record.level_count == 4 == len(record.levels)
    assert record.created_at is None  # set by the registry
    assert store.locate(record.id) == stored
    assert store.locate(record.id.upper()) == stored


def test_real_ndpi_upload(real_ndpi: Path, store: SlideStore) -> None:
    record = upload_file(store, real_ndpi, real_ndpi.name)
    assert (record.vendor, record.level_count) == ("hamamatsu", 7)
    assert record.stored_path.endswith(f"{record.id}.ndpi")


def test_corrupt_file_is_unprocessable_and_removed(store: SlideStore) -> None:
    with store.begin_upload("corrupt.svs") as upload:
        upload.write(np.random.default_rng(7).bytes(300_000))
        with pytest.raises(InvalidArgument) as caught:
            upload.finish()
    assert caught.value.code == UNPROCESSABLE_SLIDE
    assert caught.value.details["reason"]
    assert listing(store.slides_dir) == []


def test_real_ome_tiff_upload_is_unprocessable(real_ome_tiff: Path, store: SlideStore) -> None:
    with pytest.raises(InvalidArgument) as caught:
        upload_file(store, real_ome_tiff, real_ome_tiff.name)
    assert caught.value.code == UNPROCESSABLE_SLIDE
    assert listing(store.slides_dir) == []


def test_empty_upload_is_unprocessable(store: SlideStore) -> None:
    with pytest.raises(InvalidArgument) as caught, store.begin_upload("empty.tif") as upload:
        upload.finish()
    assert caught.value.code == UNPROCESSABLE_SLIDE
    assert listing(store.slides_dir) == []


def test_traversal_filename_is_stored_safely(aperio_svs: Path, tmp_path: Path) -> None:
    store = SlideStore(tmp_path / "deep" / "slides")
    before = listing(tmp_path)
    record = upload_file(store, aperio_svs, "../../etc/passwd.svs")
    assert record.filename == "passwd.svs"
    assert Path(record.stored_path).parent == store.slides_dir
    assert Path(record.stored_path).name == f"{record.id}.svs"
    after = set(listing(tmp_path)) - set(before)
    assert after == {f"deep/slides/{record.id}.svs"}
    assert not (tmp_path / "etc").exists()


def test_declared_size_over_the_limit_is_refused_at_once(tmp_path: Path) -> None:
    store = SlideStore(tmp_path / "slides", max_upload_bytes=1000)
    with pytest.raises(ResourceExhausted) as caught:
        store.begin_upload("big.svs", declared_size=1001)
    assert caught.value.code == PAYLOAD_TOO_LARGE
    assert caught.value.details["limit"] == "1000"
    assert listing(store.slides_dir) == []


def test_undeclared_size_over_the_limit_fails_on_the_chunk_that_crosses_it(
    aperio_svs: Path, tmp_path: Path
) -> None:
    store = SlideStore(tmp_path / "slides", max_upload_bytes=100_000)
    upload = store.begin_upload("big.svs")
    upload.write(bytes(60_000))
    upload.write(bytes(40_000))  # exactly the limit is fine
    with pytest.raises(ResourceExhausted) as caught:
        upload.write(b"x")
    assert caught.value.code == PAYLOAD_TOO_LARGE
    assert listing(store.slides_dir) == []
    with pytest.raises(FailedPrecondition):
        upload.write(b"more")


def test_short_upload_against_its_declared_size(aperio_svs: Path, store: SlideStore) -> None:
    size = aperio_svs.stat().st_size
    with (
        pytest.raises(InvalidArgument, match="incomplete"),
        store.begin_upload("short.svs", declared_size=size + 10) as upload,
    ):
        for chunk in chunks_of(aperio_svs):
            upload.write(chunk)
        upload.finish()
    assert listing(store.slides_dir) == []


def test_leaving_the_block_without_finish_aborts(store: SlideStore) -> None:
    with pytest.raises(RuntimeError), store.begin_upload("a.svs") as upload:
        upload.write(b"abc")
        assert upload.temp_path.exists()
        raise RuntimeError("client went away")
    assert listing(store.slides_dir) == []
    with pytest.raises(FailedPrecondition):
        upload.finish()


# Zipped slides -------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes | Path]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if isinstance(content, Path):
                archive.write(content, name)
            else:
                archive.writestr(name, content)
    return path


def test_zip_of_a_single_file_slide_is_accepted(
    aperio_svs: Path, store: SlideStore, tmp_path: Path
) -> None:
    archive = make_zip(
        tmp_path / "case.zip",
        {
            "case/slide.svs": aperio_svs,
            "case/notes.txt": b"stained 2024-01-01",
            "__MACOSX/case/._slide.svs": b"resource fork",
        },
    )
    record = upload_file(store, archive, "case.zip")
    folder = store.slides_dir / record.id
    assert Path(record.stored_path) == folder / "case" / "slide.svs"
    assert Path(record.stored_path).read_bytes() == aperio_svs.read_bytes()
    assert record.vendor == "aperio" and record.filename == "case.zip"
    assert record.size_bytes == aperio_svs.stat().st_size + len(b"stained 2024-01-01") + 13
    assert listing(store.slides_dir)[0] == record.id  # the folder, and no temp entries
    assert all(entry.startswith(record.id) for entry in listing(store.slides_dir))
    assert store.locate(record.id) == Path(record.stored_path)


@pytest.mark.parametrize(
    "member", ["../evil.txt", "case/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "..\\evil.txt"]
)
def test_zip_slip_members_are_refused(member: str, store: SlideStore, tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("slide.svs", b"not read: refused before extraction")
        zipped.writestr(zipfile.ZipInfo(member), b"owned")
    with pytest.raises(InvalidArgument, match=r"evil\.txt") as caught:
        upload_file(store, archive, "evil.zip")
    assert caught.value.code != UNPROCESSABLE_SLIDE
    assert listing(store.slides_dir) == []
    assert not (tmp_path / "evil.txt").exists()
    assert not (store.slides_dir.parent / "evil.txt").exists()


def test_zip_symlink_members_are_refused(store: SlideStore, tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    link = zipfile.ZipInfo("slide.svs")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(link, "/etc/passwd")
    with pytest.raises(InvalidArgument, match="symbolic link"):
        upload_file(store, archive, "link.zip")
    assert listing(store.slides_dir) == []


def test_zip_bomb_is_stopped_by_the_unpacked_size_limit(tmp_path: Path) -> None:
    store = SlideStore(tmp_path / "slides", max_upload_bytes=1_000_000)
    archive = make_zip(tmp_path / "bomb.zip", {"slide.svs": bytes(20_000_000)})
    assert archive.stat().st_size < 100_000  # small on the wire, 20 MB unpacked
    with pytest.raises(ResourceExhausted) as caught:
        upload_file(store, archive, "bomb.zip")
    assert caught.value.code == PAYLOAD_TOO_LARGE
    assert listing(store.slides_dir) == []


def test_zip_bomb_is_refused_by_its_ratio_before_a_byte_is_unpacked(
    zip_bomb: Path, store: SlideStore
) -> None:
    # The default store allows 10 GiB uploads and 4 GiB unpacked: the ratio stops it.
    assert zip_bomb.stat().st_size < 1024 * 1024 < ZIP_BOMB_UNPACKED < store.max_unzipped_bytes
    with pytest.raises(ResourceExhausted, match="expands more than 50 times") as caught:
        upload_file(store, zip_bomb, "bomb.zip")
    assert caught.value.code == PAYLOAD_TOO_LARGE
    assert caught.value.details["member"] == "case/slide/Data0000.dat"
    assert listing(store.slides_dir) == []


def test_unpacked_size_has_its_own_limit_below_the_upload_limit(tmp_path: Path) -> None:
    # Incompressible members pass the ratio; their total is over the unpacked limit.
    store = SlideStore(
        tmp_path / "slides", max_upload_bytes=100_000_000, max_unzipped_bytes=2_000_000
    )
    noise = np.random.default_rng(3).bytes(1_500_000)
    archive = make_zip(tmp_path / "big.zip", {"a.svs": noise, "b.bin": noise})
    with pytest.raises(ResourceExhausted, match="more than the limit of 2000000") as caught:
        upload_file(store, archive, "big.zip")
    assert caught.value.code == PAYLOAD_TOO_LARGE
    assert listing(store.slides_dir) == []


def test_ratio_limit_spares_small_members_and_real_slides(
    aperio_svs: Path, store: SlideStore, tmp_path: Path
) -> None:
    # A text index compresses far beyond 50:1 but is under the 1 MiB every member may
    # unpack to; the slide's JPEG tiles barely compress.
    archive = make_zip(
        tmp_path / "case.zip", {"case/slide.svs": aperio_svs, "case/index.txt": b"a" * 500_000}
    )
    record = upload_file(store, archive, "case.zip")
    assert record.vendor == "aperio"


def test_zip_with_lying_sizes_is_refused(tmp_path: Path) -> None:
    store = SlideStore(tmp_path / "slides", max_upload_bytes=1_000_000)
    archive = make_zip(tmp_path / "liar.zip", {"slide.svs": bytes(5_000_000)})
    # Rewrite the declared uncompressed size (local and central headers) to 1000.
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)
        data[start + offset : start + offset + 4] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(InvalidArgument) as caught:
        upload_file(store, archive, "liar.zip")
    assert caught.value.code == UNPROCESSABLE_SLIDE  # zipfile stops at 1000 bytes: bad CRC
    assert listing(store.slides_dir) == []


def test_zip_without_a_slide_or_with_two(aperio_svs: Path, store: SlideStore, tmp_path: Path):
    none = make_zip(tmp_path / "none.zip", {"readme.txt": b"hello"})
    with pytest.raises(InvalidArgument, match="no slide file") as caught:
        upload_file(store, none, "none.zip")
    assert caught.value.code == UNPROCESSABLE_SLIDE
    two = make_zip(tmp_path / "two.zip", {"a.svs": aperio_svs, "b/c.tif": aperio_svs})
    with pytest.raises(InvalidArgument, match=r"several slide files \(a.svs, b/c.tif\)"):
        upload_file(store, two, "two.zip")
    assert listing(store.slides_dir) == []


def test_zipped_mirax_that_openslide_refuses_is_removed(store: SlideStore, tmp_path: Path):
    archive = make_zip(
        tmp_path / "mirax.zip",
        {"CMU-1.mrxs": b"not really", "CMU-1/Slidedat.ini": b"[GENERAL]\n"},
    )
    with pytest.raises(InvalidArgument) as caught:
        upload_file(store, archive, "mirax.zip")
    assert caught.value.code == UNPROCESSABLE_SLIDE
    assert "CMU-1.mrxs" in caught.value.message
    assert listing(store.slides_dir) == []


def test_not_a_zip_at_all(store: SlideStore, tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK but not really" * 100)
    with pytest.raises(InvalidArgument) as caught:
        upload_file(store, fake, "fake.zip")
    assert caught.value.code == UNPROCESSABLE_SLIDE
    assert listing(store.slides_dir) == []


# Lookup, deletion, crash debris --------------------------------------------------


def test_locate_and_delete(aperio_svs: Path, store: SlideStore, tmp_path: Path) -> None:
    single = upload_file(store, aperio_svs, "a.svs")
    zipped = upload_file(store, make_zip(tmp_path / "z.zip", {"s.svs": aperio_svs}), "z.zip")
    assert store.delete(single.id) is True
    assert store.delete(zipped.id) is True
    assert listing(store.slides_dir) == []
    assert store.delete(single.id) is False
    with pytest.raises(NotFound):
        store.locate(single.id)
    with pytest.raises(InvalidArgument):
        store.delete("../slides")


def test_sweep_removes_what_no_live_process_owns(aperio_svs: Path, store: SlideStore) -> None:
    folder = store.slides_dir
    slide = folder / f"{new_slide_id()}.svs"
    slide.write_bytes(b"a stored slide")
    (folder / ".upload-nolock.part").write_bytes(b"x")  # its owner died before a lock
    (folder / ".upload-unzip.d").mkdir()  # an archive half unpacked
    (folder / ".upload-unzip.d" / "member").write_bytes(b"x")
    (folder / ".upload-unzip.lock").write_bytes(b"")  # a lock nobody holds
    (folder / ".upload-unzip.part").write_bytes(b"x")
    with store.begin_upload("live.svs") as live:  # owned: this process holds its lock
        live.write(aperio_svs.read_bytes())
        assert store.sweep_unowned_uploads() == 2
        assert listing(folder) == sorted(
            [slide.name, live.temp_path.name, live.temp_path.with_suffix(".lock").name]
        )
        record = live.finish()
    assert listing(folder) == sorted([slide.name, Path(record.stored_path).name])
    assert store.sweep_unowned_uploads() == 0


# A second process receiving an upload into the same folder (another replica),
# until it is killed.
_REPLICA = """
import sys, time
from services.slides.core import SlideStore
upload = SlideStore(sys.argv[1]).begin_upload("replica.svs")
upload.write(b"half a slide")
print("receiving", flush=True)
time.sleep(600)
"""


def test_kill_9_mid_upload_leaves_debris_the_next_start_removes(store: SlideStore) -> None:
    replica = subprocess.Popen(
        [sys.executable, "-c", _REPLICA, str(store.slides_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert replica.stdout.readline().strip() == "receiving"
        debris = listing(store.slides_dir)
        assert [Path(name).suffix for name in debris] == [".lock", ".part"]
        # Another replica starting now must leave the live upload alone.
        assert store.sweep_unowned_uploads() == 0
        assert listing(store.slides_dir) == debris
    finally:
        replica.send_signal(signal.SIGKILL)
        replica.wait(timeout=30)
    assert listing(store.slides_dir) == debris  # a crash cleans nothing up itself
    assert store.sweep_unowned_uploads() == 1
    assert listing(store.slides_dir) == []


def test_claims_taken_during_sweeps_are_never_swept(store: SlideStore) -> None:
    # A sweep may remove a lock file between its creation and its flock: the
    # claimer must notice and take another, so every finished claim held a lock.
    stop = threading.Event()

    def sweep_forever() -> None:
        while not stop.is_set():
            store.sweep_unowned_uploads()

    sweeper = threading.Thread(target=sweep_forever)
    sweeper.start()
    try:
        for _ in range(200):
            with store.begin_upload("race.svs") as upload:
                upload.write(b"abc")
                assert upload.temp_path.exists()
                assert upload.temp_path.with_suffix(".lock").exists()
    finally:
        stop.set()
        sweeper.join()
    assert listing(store.slides_dir) == []


# Async streaming -------------------------------------------------------------------


async def stream(path: Path, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for index, chunk in enumerate(chunks_of(path, 50_000)):
        if fail_after is not None and index == fail_after:
            raise ConnectionResetError("client went away")
        await asyncio.sleep(0)
        yield chunk


async def test_receive_upload_from_an_async_stream(aperio_svs: Path, store: SlideStore) -> None:
    record = await receive_upload(store, "async.svs", stream(aperio_svs))
    assert Path(record.stored_path).read_bytes() == aperio_svs.read_bytes()


async def test_receive_upload_cleans_up_after_a_broken_stream(
    aperio_svs: Path, store: SlideStore
) -> None:
    with pytest.raises(ConnectionResetError):
        await receive_upload(store, "broken.svs", stream(aperio_svs, fail_after=3))
    assert listing(store.slides_dir) == []


async def test_receive_upload_cleans_up_when_cancelled(aperio_svs: Path, store: SlideStore) -> None:
    async def slow() -> AsyncIterator[bytes]:
        yield b"first chunk"
        await asyncio.sleep(30)
        yield b"never"

    task = asyncio.create_task(receive_upload(store, "slow.svs", slow()))
    await asyncio.sleep(0.1)
    assert listing(store.slides_dir) != []  # the temp file exists meanwhile
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert listing(store.slides_dir) == []


async def test_receive_upload_cleans_up_when_cancelled_while_beginning(
    store: SlideStore,
) -> None:
    # Cancelled while a worker thread is still creating the upload's files (a caller
    # that left at once): what the thread creates must not outlive the call.
    started = threading.Event()
    release = threading.Event()

    async def slow_thread(function, *args):
        def run() -> object:
            started.set()
            release.wait(10)
            return function(*args)

        return await asyncio.to_thread(run)

    async def no_chunks() -> AsyncIterator[bytes]:
        yield b"never read"

    task = asyncio.create_task(receive_upload(store, "a.svs", no_chunks(), run=slow_thread))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert listing(store.slides_dir) == []
