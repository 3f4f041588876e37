"""Safe extraction of zipped multi-file slides (MIRAX, VMS).

Every member is checked before anything is written: its path must resolve
inside the destination (no "zip slip"), it may not be a link or encrypted, and
the declared sizes must fit two budgets against zip bombs: the unpacked total
(`max_total_bytes`) and how many times its compressed size a member may expand
(`max_ratio`; slide data is JPEG or JPEG 2000 and barely compresses, while a
bomb of zeros expands a thousandfold). While writing, bytes are counted against
both budgets again, so an archive whose headers lie is stopped at the budget,
not at the end of the disk; the caller removes what was written.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from common.errors import PAYLOAD_TOO_LARGE, UNPROCESSABLE_SLIDE, InvalidArgument, ResourceExhausted

DEFAULT_MAX_MEMBERS = 10_000
DEFAULT_MAX_RATIO = 50.0
# Members this small may expand freely (a text index compresses twentyfold).
RATIO_FREE_BYTES = 1024 * 1024
_COPY_BYTES = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


def _too_large(limit: int) -> ResourceExhausted:
    return ResourceExhausted(
        f"the archive unpacks to more than the limit of {limit} bytes",
        code=PAYLOAD_TOO_LARGE,
        limit=limit,
    )


def _member_budget(info: zipfile.ZipInfo, max_ratio: float) -> int:
    """The most bytes a member may unpack to: `max_ratio` times its compressed size."""
    return max(int(info.compress_size * max_ratio), RATIO_FREE_BYTES)


def _expands_too_much(info: zipfile.ZipInfo, max_ratio: float) -> ResourceExhausted:
    return ResourceExhausted(
        f"archive member {info.filename!r} expands more than {max_ratio:g} times its "
        f"compressed size of {info.compress_size} bytes (a zip bomb?)",
        code=PAYLOAD_TOO_LARGE,
        member=info.filename,
        limit=max_ratio,
    )


def _member_target(info: zipfile.ZipInfo, root: Path) -> Path:
    """Where a member goes under `root`; InvalidArgument if it would land elsewhere."""
    name = info.filename
    if any(ord(char) < 32 for char in name):
        raise InvalidArgument(f"archive member {name!r} has control characters in its name")
    # Archives made on Windows may use backslashes; treat them as separators.
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or _DRIVE.match(str(posix)):
        raise InvalidArgument(f"archive member {name!r} has an absolute path", member=name)
    target = (root / posix).resolve()
    if not target.is_relative_to(root) or (target == root and not info.is_dir()):
        raise InvalidArgument(
            f"archive member {name!r} would be written outside the slide folder", member=name
        )
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InvalidArgument(f"archive member {name!r} is a symbolic link", member=name)
    if info.flag_bits & 0x1:
        raise InvalidArgument(f"archive member {name!r} is encrypted", member=name)
    return target


def safe_extract(
    archive: Path,
    destination: Path,
    *,
    max_total_bytes: int,
    max_ratio: float = DEFAULT_MAX_RATIO,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> int:
    """Unpack `archive` into the existing folder `destination`; returns the bytes written.

    Raises InvalidArgument (unsafe or duplicate member, too many members),
    InvalidArgument(UNPROCESSABLE_SLIDE) for an unreadable archive and
    ResourceExhausted(PAYLOAD_TOO_LARGE) past `max_total_bytes` or for a member
    expanding more than `max_ratio` times (beyond its first MiB). The caller
    removes `destination` on failure.
    """
    root = destination.resolve()
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if len(members) > max_members:
                raise InvalidArgument(
                    f"the archive has {len(members)} members, more than the limit of {max_members}",
                    limit=max_members,
                )
            targets = [(info, _member_target(info, root)) for info in members]
            if sum(info.file_size for info in members) > max_total_bytes:
                raise _too_large(max_total_bytes)
            for info in members:
                if info.file_size > _member_budget(info, max_ratio):
                    raise _expands_too_much(info, max_ratio)
            written = 0
            for info, target in targets:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    output = open(target, "xb")  # noqa: SIM115 - closed just below
                except FileExistsError:
                    raise InvalidArgument(
                        f"archive member {info.filename!r} appears twice", member=info.filename
                    ) from None
                budget = _member_budget(info, max_ratio)
                member_written = 0
                with output, zipped.open(info) as source:
                    while piece := source.read(_COPY_BYTES):
                        written += len(piece)
                        member_written += len(piece)
                        if written > max_total_bytes:
                            raise _too_large(max_total_bytes)
                        if member_written > budget:
                            raise _expands_too_much(info, max_ratio)
                        output.write(piece)
            return written
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise InvalidArgument(
            f"the upload is not a readable zip archive: {error}",
            code=UNPROCESSABLE_SLIDE,
            reason=str(error),
        ) from None
