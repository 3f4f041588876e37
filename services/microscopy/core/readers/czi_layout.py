"""A completeness check of CZI files, done before trusting libCZI with them.

libCZI opens a truncated CZI whenever its subblock directory survived, and only
fails on the first read of a missing subblock. To refuse such files at open we
walk the ZISRAW segment structure (Zeiss "CZI file format" specification: a file
header pointing to the subblock directory, the metadata segment and the
attachment directory, which point to every other segment) and check that every
segment lies inside the file. Only headers and directories are read, never pixels.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from common.errors import InvalidArgument

_SEGMENT_HEADER = struct.Struct("<16sqq")  # id, allocated size, used size
# After the file header's segment header: version (8), reserved (8), two GUIDs (32), file part (4).
_POSITIONS_OFFSET = 32 + 52
_POSITIONS = struct.Struct("<qqiq")  # subblock directory, metadata, update flag, attachment dir
_SUBBLOCK_ENTRY = struct.Struct("<2siqiiB5xi")  # schema, pixel type, position, ..., dimensions
_DIMENSION_ENTRY_SIZE = 20
_SUBBLOCK_DIRECTORY_PREFIX = 4 + 124  # entry count, reserved
_ATTACHMENT_DIRECTORY_PREFIX = 4 + 252
_ATTACHMENT_ENTRY_SIZE = 128
_ATTACHMENT_POSITION_OFFSET = 12  # schema (2), reserved (10)


def check_czi_complete(path: Path) -> None:
    """Raise InvalidArgument when the CZI at `path` is truncated or its structure is broken."""
    try:
        with open(path, "rb") as fh:
            _check(fh, fh.seek(0, 2))
    except (ValueError, struct.error, OSError) as exc:
        raise InvalidArgument(
            f"{path.name}: not a complete CZI file ({exc})", path=str(path)
        ) from exc


def _segment(fh: BinaryIO, position: int, expected_id: bytes | None, what: str) -> bytes:
    """The data of the segment at `position`, checked to be an `expected_id` segment."""
    fh.seek(position)
    header = fh.read(_SEGMENT_HEADER.size)
    if len(header) < _SEGMENT_HEADER.size:
        raise ValueError(f"{what} at byte {position} lies past the end of the file")
    segment_id, _, used = _SEGMENT_HEADER.unpack(header)
    if expected_id is not None and segment_id.rstrip(b"\0") != expected_id:
        raise ValueError(f"{what} at byte {position} is not a {expected_id.decode()} segment")
    data = fh.read(used)
    if len(data) < used:
        raise ValueError(f"{what} at byte {position} is cut short")
    return data


def _check(fh: BinaryIO, size: int) -> None:
    header = _segment(fh, 0, b"ZISRAWFILE", "file header")
    directory_at, metadata_at, _, attachments_at = _POSITIONS.unpack_from(
        header, _POSITIONS_OFFSET - _SEGMENT_HEADER.size
    )
    positions = {metadata_at} if metadata_at > 0 else set()

    directory = _segment(fh, directory_at, b"ZISRAWDIRECTORY", "subblock directory")
    (count,) = struct.unpack_from("<i", directory)
    offset = _SUBBLOCK_DIRECTORY_PREFIX
    for _ in range(count):
        _, _, position, _, _, _, n_dims = _SUBBLOCK_ENTRY.unpack_from(directory, offset)
        offset += _SUBBLOCK_ENTRY.size + n_dims * _DIMENSION_ENTRY_SIZE
        positions.add(position)

    if attachments_at > 0:
        attachments = _segment(fh, attachments_at, b"ZISRAWATTDIR", "attachment directory")
        (count,) = struct.unpack_from("<i", attachments)
        for i in range(count):
            entry = _ATTACHMENT_DIRECTORY_PREFIX + i * _ATTACHMENT_ENTRY_SIZE
            (position,) = struct.unpack_from("<q", attachments, entry + _ATTACHMENT_POSITION_OFFSET)
            positions.add(position)

    for position in positions:
        if not 0 < position < size:
            raise ValueError(f"segment at byte {position} lies past the end of the file")
    if positions:
        # Segments do not overlap, so each ends before the furthest one starts;
        # the furthest must end inside the file.
        _segment(fh, max(positions), None, "last segment")
