"""Bad files and bad addresses give InvalidArgument (or NotFound), fast, never a raw
library exception."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile

from common.errors import (
    FILE_NOT_FOUND,
    INVALID_PARAMETERS,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from services.microscopy.core.readers import detect_file_type, open_reader

from .conftest import REAL_FILES

pytestmark = pytest.mark.timeout(60)


def read_everything(path: Path) -> None:
    with open_reader(path) as reader:
        md = reader.metadata
        for address in itertools.product(
            range(md.n_fovs), range(md.n_frames), range(md.n_channels), range(md.n_z)
        ):
            reader.read_frame(*address)


@pytest.mark.parametrize("name", ["picture.png", "notes.txt", "archive.nd2.zip", "README"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"II*\x00" + bytes(100))  # even with a TIFF signature
    with pytest.raises(InvalidArgument, match="unsupported file type") as info:
        open_reader(path)
    assert info.value.code == INVALID_PARAMETERS


@pytest.mark.parametrize("relative", REAL_FILES)
@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
def test_truncated_real_file(real_file, tmp_path: Path, relative: str, fraction: float) -> None:
    original = real_file(relative)
    data = original.read_bytes()
    truncated = tmp_path / original.name
    truncated.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(InvalidArgument) as info:
        open_reader(truncated)  # refused at open, before any frame is served
    assert info.value.code == INVALID_PARAMETERS
    assert original.name in info.value.message


@pytest.mark.parametrize("name", ["random.nd2", "random.czi", "random.tif", "random.ome.tiff"])
@pytest.mark.parametrize(
    "prefix", [b"", b"\xda\xce\xbe\x0a", b"ZISRAWFILE", b"II*\x00", b"MM\x00*"]
)
def test_random_bytes(tmp_path: Path, name: str, prefix: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(prefix + np.random.default_rng(7).bytes(64 * 1024))
    with pytest.raises(InvalidArgument):
        read_everything(path)


@pytest.mark.parametrize("name", ["empty.nd2", "empty.czi", "empty.tif"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    (tmp_path / name).touch()
    with pytest.raises(InvalidArgument, match="not a valid"):
        open_reader(tmp_path / name)


def test_folder_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "folder.nd2").mkdir()
    with pytest.raises(InvalidArgument, match="folder"):
        open_reader(tmp_path / "folder.nd2")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        open_reader(tmp_path / "missing.nd2")
    assert info.value.code == FILE_NOT_FOUND


def test_tiff_with_broken_ifd_chain(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as writer:
        for _ in range(4):
            writer.write(np.ones((16, 16), np.uint16), contiguous=False, metadata=None)
    data = bytearray(path.read_bytes())
    # Point the first IFD's "next IFD" offset past the end of the file.
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        next_offset_at = page.offset + 2 + len(page.tags) * 12
    data[next_offset_at : next_offset_at + 4] = (len(data) + 1000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidArgument, match="corrupt or truncated TIFF"):
        open_reader(path)


def test_mislabelled_file_opens_by_content(real_file, tmp_path: Path) -> None:
    renamed = tmp_path / "actually-nd2.tif"
    renamed.symlink_to(real_file("nd2/cluster.nd2"))
    assert detect_file_type(renamed) == "nd2"
    with open_reader(renamed) as reader:
        assert reader.metadata.file_type == "nd2"


# ------------------------------------------------------------------- frame addresses


@pytest.fixture
def cluster(real_file):
    with open_reader(real_file("nd2/cluster.nd2")) as reader:
        yield reader  # 1 FOV, T=3, C=2, Z=10


@pytest.mark.parametrize(
    ("address", "axis", "valid"),
    [
        ((1, 0, 0, 0), "fov", "0..0"),
        ((0, 3, 0, 0), "t", "0..2"),
        ((0, 0, 2, 0), "c", "0..1"),
        ((0, 0, 0, 10), "z", "0..9"),
        ((0, -1, 0, 0), "t", "0..2"),
        ((-1, 0, 0, 0), "fov", "0..0"),
    ],
)
def test_out_of_range_index_names_axis_and_range(cluster, address, axis: str, valid: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        cluster.read_frame(*address)
    assert info.value.code == INVALID_PARAMETERS
    assert info.value.message.startswith(f"{axis} index")
    assert valid in info.value.message
    assert info.value.details["axis"] == axis


@pytest.mark.parametrize("bad", [1.0, "1", None, True])
def test_non_integer_index(cluster, bad) -> None:
    with pytest.raises(InvalidArgument, match="must be an integer"):
        cluster.read_frame(0, bad, 0)


def test_numpy_integers_are_indices(cluster) -> None:
    assert cluster.read_frame(np.int64(0), np.int32(2), np.uint8(1), np.int16(4)).shape == (31, 38)


def test_closed_reader(real_file) -> None:
    reader = open_reader(real_file("nd2/cluster.nd2"))
    reader.close()
    reader.close()  # idempotent
    assert reader.closed
    with pytest.raises(FailedPrecondition):
        reader.read_frame(0, 0, 0)


def test_unreadable_file(tmp_path: Path, real_file) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "locked.nd2"
    path.write_bytes(real_file("nd2/cluster.nd2").read_bytes())
    path.chmod(0)
    with pytest.raises(PermissionDenied):
        open_reader(path)


@pytest.mark.parametrize("name", ["pipe.tif", "pipe.nd2", "pipe.czi"])
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path, name: str) -> None:
    # Opening a FIFO for reading blocks until someone writes: the reader must not open it.
    pipe = tmp_path / name
    os.mkfifo(pipe)
    with pytest.raises(InvalidArgument, match="not a regular file") as info:
        open_reader(pipe)
    assert info.value.code == INVALID_PARAMETERS
    with pytest.raises(InvalidArgument, match="not a regular file"):
        detect_file_type(pipe)


def test_a_folder_named_like_a_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.tif"
    folder.mkdir()
    with pytest.raises(InvalidArgument, match="is a folder"):
        open_reader(folder)
