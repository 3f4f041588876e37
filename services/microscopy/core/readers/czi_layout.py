"""A completeness check of CZI files, done before trusting libCZI with them.

libCZI opens a truncated CZI whenever its subblock directory survived, and only
fails on the first read of a missing subblock. To refuse such files at open we
walk the ZISRAW segment structure (Zeiss "CZI file format" specification: file
header -> subblock directory -> subblocks) and check that every subblock the
directory lists lies inside the file. Only headers are read, never pixels.
"""

from __future__ import annotations

import struct
from pathlib import Path

from common.errors import InvalidArgument

_SEGMENT_HEADER = struct.Struct("<16sqq")  # id, allocated size, used size
_FILE_HEADER_POSITIONS = struct.Struct("<qqiq")  # directory, metadata, update flag, attachments
_FILE_HEADER_POSITIONS_OFFSET = 32 + 52  # after the segment header, version, GUIDs, file part
_DIRECTORY_PREFIX = 4 + 124  # entry count, reserved
_ENTRY = struct.Struct("<2siqiiB5xi")  # schema, pixel type, position, part, compression, ...
_DIMENSION_ENTRY_SIZE = 20


def _segment(data: bytes, expected_id: bytes, where: str) -> tuple[int, int]:
    if len(data) < _SEGMENT_HEADER.size:
        raise ValueError(f"{where} lies past the end of the file")
    segment_id, allocated, used = _SEGMENT_HEADER.unpack_from(data)
    if segment_id.rstrip(b"\0") != expected_id:
        raise ValueError(f"{where} is not a {expected_id.decode()} segment")
    return allocated, used


def check_czi_complete(path: Path) -> None:
    """Raise InvalidArgument when the CZI at `path` is truncated or its structure is broken."""
    try:
        _check(path)
    except (ValueError, struct.error, OSError) as exc:
        raise InvalidArgument(
            f"{path.name}: not a complete CZI file ({exc})", path=str(path)
        ) from exc


def _check(path: Path) -> None:
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        header = fh.read(_FILE_HEADER_POSITIONS_OFFSET + _FILE_HEADER_POSITIONS.size)
        _segment(header, b"ZISRAWFILE", "file header")
        if len(header) < _FILE_HEADER_POSITIONS_OFFSET + _FILE_HEADER_POSITIONS.size:
            raise ValueError("file header is cut short")
        directory_at, _, _, _ = _FILE_HEADER_POSITIONS.unpack_from(
            header, _FILE_HEADER_POSITIONS_OFFSET
        )
        if not 0 < directory_at < size:
            raise ValueError("subblock directory lies past the end of the file")

        fh.seek(directory_at)
        _, used = _segment(fh.read(_SEGMENT_HEADER.size), b"ZISRAWDIRECTORY", "directory")
        directory = fh.read(used)
        if len(directory) < used:
            raise ValueError("subblock directory is cut short")
        (count,) = struct.unpack_from("<i", directory)
        offset, last = _DIRECTORY_PREFIX, -1
        for _ in range(count):
            _, _, position, _, _, _, n_dims = _ENTRY.unpack_from(directory, offset)
            offset += _ENTRY.size + n_dims * _DIMENSION_ENTRY_SIZE
            if not 0 < position < size:
                raise ValueError(f"subblock at byte {position} lies past the end of the file")
            last = max(last, position)
        if last < 0:
            return
        # Segments do not overlap, so every other subblock ends before the furthest one
        # starts; that one must end inside the file.
        fh.seek(last)
        _, used = _segment(fh.read(_SEGMENT_HEADER.size), b"ZISRAWSUBBLOCK", "last subblock")
        if last + _SEGMENT_HEADER.size + used > size:
            raise ValueError(f"last subblock at byte {last} is cut short")
