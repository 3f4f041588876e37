"""Choosing the reader for a file: the extension must be one we support, the
content's signature then decides the format (a mislabelled file still opens)."""

from __future__ import annotations

import os
from pathlib import Path

from common.errors import InvalidArgument

from ..extensions import MICROSCOPY_EXTENSIONS, file_extension
from ..paths import open_regular_file
from .base import MicroscopyReader
from .czi_reader import CZIReader
from .nd2_reader import ND2Reader
from .tiff_reader import TiffReader

# File signatures (magic bytes) of each format.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\xda\xce\xbe\x0a", "nd2"),  # modern ND2 chunk magic 0x0ABECEDA
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "nd2"),  # legacy ND2 (JPEG 2000 container)
    (b"ZISRAWFILE", "czi"),
)
_READERS: dict[str, type[MicroscopyReader]] = {
    "nd2": ND2Reader,
    "czi": CZIReader,
    "tiff": TiffReader,
}
_EXPECTED_TYPE = {".nd2": "nd2", ".czi": "czi"}


def detect_file_type(path: str | os.PathLike[str]) -> str:
    """ "nd2", "czi" or "tiff" judged by the extension and the file's first bytes.

    Raises NotFound (FILE_NOT_FOUND) for a missing file, InvalidArgument for a
    folder, a pipe or anything else that is not a regular file, an unsupported
    extension or content that is none of the formats. Never blocks on a pipe.
    """
    path = Path(path)
    extension = file_extension(path.name)
    if extension not in MICROSCOPY_EXTENSIONS:
        supported = ", ".join(sorted(MICROSCOPY_EXTENSIONS))
        raise InvalidArgument(
            f"unsupported file type {extension or '(no extension)'!r} for {path.name}; "
            f"supported: {supported}",
            path=str(path),
        )
    with open_regular_file(path) as fh:
        head = fh.read(16)
    for signature, file_type in _SIGNATURES:
        if head.startswith(signature):
            return file_type
    expected = _EXPECTED_TYPE.get(extension, "tiff").upper()
    raise InvalidArgument(
        f"{path.name} is not a valid {expected} file (unrecognised signature)",
        path=str(path),
    )


def open_reader(path: str | os.PathLike[str]) -> MicroscopyReader:
    """Open `path` with the reader for its format; the caller closes it (or uses `with`).

    Raises NotFound (FILE_NOT_FOUND) for a missing file, InvalidArgument
    (INVALID_PARAMETERS) for an unsupported, corrupt or truncated file or one
    that is not a regular file (checked first, so a pipe never holds a thread).
    Paths are taken as given: confine user paths with `DataRoots` first.
    """
    path = Path(path)
    return _READERS[detect_file_type(path)](path)
