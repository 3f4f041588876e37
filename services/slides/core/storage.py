"""Slide files on disk: streaming uploads, lookup by id, deletion.

Layout of `slides_dir`:

    <id><ext>            a single-file slide (.svs, .ndpi, .tif, ...), ext lower-cased
    <id>/...             an unzipped multi-file slide (MIRAX, VMS) or zipped slide
    .upload-<uuid>.part  an upload in progress (an archive's folder: .upload-<uuid>.d),
    .upload-<uuid>.lock  held (flock) by the receiving process (upload_claims.py)
    .thumbnails/         the thumbnail cache (thumbnails.py)

Files are named by a random UUID, never by what the client sent; the client's
name, stripped of any path, is kept only as the slide's `filename`. An upload
is written to a temporary name, opened with OpenSlide, and only then renamed
into place; on any failure whatever it wrote is removed, and what a crash left
is removed at the next start (`sweep_unowned_uploads`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path
from types import TracebackType

import openslide

from common.errors import (
    PAYLOAD_TOO_LARGE,
    UNPROCESSABLE_SLIDE,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)

from .formats import (
    ARCHIVE_EXTENSION,
    MULTI_FILE_EXTENSIONS,
    SLIDE_EXTENSIONS,
    UPLOAD_EXTENSIONS,
    find_main_slide_file,
)
from .ids import new_slide_id, parse_slide_id
from .metadata import open_slide, read_facts
from .models import SlideFacts, SlideRecord
from .unzip import DEFAULT_MAX_MEMBERS, DEFAULT_MAX_RATIO, safe_extract
from .upload_claims import UPLOAD_PREFIX, claim_upload, remove_path, sweep_unowned_uploads

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024**3
# What a zipped slide may unpack to: a bound of its own, well below the upload
# limit, since a small archive can expand to anything (zip bombs).
DEFAULT_MAX_UNZIPPED_BYTES = 4 * 1024**3
MAX_FILENAME_LENGTH = 255

Opener = Callable[[Path], openslide.AbstractSlide]
# Bidirectional controls (LRE..RLO, LRI..PDI, LRM/RLM, ALM) make a name display
# other than it is ("x\u202egpj.svs" shows as "xsvs.jpg"): they are dropped.
_BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
)
# Runs a blocking call off the event loop: asyncio.to_thread, or a bounded pool's.
BlockingRunner = Callable[..., Awaitable]


def sanitize_filename(name: str) -> str:
    """The client's file name without any path; InvalidArgument when nothing usable is left.

    Both "/" and "\\" count as separators, whatever the server's OS, so
    "../../etc/passwd.svs" and "C:\\\\scans\\\\a.svs" become "passwd.svs" and "a.svs".
    Bidirectional control characters are removed.
    """
    if name is None or not str(name).strip():
        raise InvalidArgument("the upload has no file name")
    name = str(name).translate(_BIDI_CONTROLS)
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidArgument(f"file name {name!r} contains control characters", filename=name)
    # The last segment, literally: no normalisation that could turn "x/." into "x".
    base = re.split(r"[\\/]", name)[-1].strip()
    if base in ("", ".", ".."):
        raise InvalidArgument(f"file name {name!r} names no file", filename=name)
    if len(base) > MAX_FILENAME_LENGTH:
        raise InvalidArgument(
            f"file name is longer than {MAX_FILENAME_LENGTH} characters", filename=base[:64]
        )
    return base


def upload_extension(filename: str) -> str:
    """The lower-cased extension of a sanitized name; InvalidArgument unless allowed."""
    extension = Path(filename).suffix.lower()
    if extension not in UPLOAD_EXTENSIONS:
        raise InvalidArgument(
            f"unsupported file extension {extension or '(none)'!r} in {filename!r}; "
            f"allowed: {', '.join(UPLOAD_EXTENSIONS)}",
            extension=extension,
        )
    if extension in MULTI_FILE_EXTENSIONS:
        raise InvalidArgument(
            f"{extension} slides come with companion files; upload a .zip holding the "
            f"{extension} file and its companion files",
            extension=extension,
        )
    return extension


def _payload_too_large(limit: int, size: int | None = None) -> ResourceExhausted:
    what = f"{size} bytes" if size is not None else "the upload"
    return ResourceExhausted(
        f"{what} exceeds the upload limit of {limit} bytes", code=PAYLOAD_TOO_LARGE, limit=limit
    )


def _folder_size(folder: Path) -> int:
    return sum(
        (Path(root) / name).stat().st_size
        for root, _dirs, files in os.walk(folder)
        for name in files
    )


def validate_slide(path: Path, opener: Opener = open_slide, name: str | None = None) -> SlideFacts:
    """Open `path` with OpenSlide and decode a few pixels; the slide's facts.

    InvalidArgument(UNPROCESSABLE_SLIDE), with OpenSlide's reason, when it
    cannot. Messages call the file `name` (the client's file name, not the
    temporary one the upload is written to).
    """
    name = name or path.name
    try:
        slide = opener(path)
    except InvalidArgument as error:
        reason = error.details.get("reason", error.message)
        raise InvalidArgument(
            f"OpenSlide cannot open {name}: {reason}", code=error.code, **error.details
        ) from None
    try:
        facts = read_facts(slide)
        # Opening parses only the structure; decoding a corner of the smallest
        # level catches pixel data OpenSlide cannot read.
        smallest = slide.level_count - 1
        width, height = slide.level_dimensions[smallest]
        slide.read_region((0, 0), smallest, (min(width, 64), min(height, 64)))
        return facts
    except openslide.OpenSlideError as error:
        raise InvalidArgument(
            f"OpenSlide cannot read the pixels of {name}: {error}",
            code=UNPROCESSABLE_SLIDE,
            reason=str(error),
        ) from None
    finally:
        slide.close()


class Upload:
    """One upload in progress: `write` chunks, then `finish` (or `abort`).

    Used as a context manager, leaving the block without finish() aborts. One
    writer at a time; every method blocks on disk (and finish on OpenSlide),
    so async callers run them in a thread (see `receive_upload`).
    """

    def __init__(
        self, store: SlideStore, filename: str, extension: str, declared_size: int | None
    ) -> None:
        self.filename = filename
        self.extension = extension
        self.declared_size = declared_size
        self.bytes_received = 0
        self._store = store
        # Held until this upload's files are renamed or removed: a sweep by any
        # process sharing the folder leaves them alone meanwhile.
        self._claim = claim_upload(store.slides_dir)
        self.temp_path = store.slides_dir / f"{UPLOAD_PREFIX}{self._claim.token}.part"
        self._temp_folder = store.slides_dir / f"{UPLOAD_PREFIX}{self._claim.token}.d"
        try:
            self._file = open(self.temp_path, "xb")  # noqa: SIM115 - closed by finish/abort
        except BaseException:
            self._claim.release()
            raise
        self._done = False
        self._stored: Path | None = None  # set once renamed into place

    def __enter__(self) -> Upload:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._done:
            self.abort()

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Append a chunk; ResourceExhausted(PAYLOAD_TOO_LARGE) once past the limit."""
        self._check_open()
        size = len(chunk)
        limit = self._store.max_upload_bytes
        if self.bytes_received + size > limit:
            self.abort()
            raise _payload_too_large(limit)
        try:
            self._file.write(chunk)
        except BaseException:
            self.abort()
            raise
        self.bytes_received += size

    def finish(self) -> SlideRecord:
        """Validate the upload with OpenSlide, move it into place, and describe it.

        Raises InvalidArgument (size differs from the declared one, unsafe
        archive), InvalidArgument(UNPROCESSABLE_SLIDE) (not a slide OpenSlide
        reads) or ResourceExhausted(PAYLOAD_TOO_LARGE) (archive unpacks too
        large). Nothing is left on disk after a failure.
        """
        self._check_open()
        try:
            # On disk before the slide is announced (and registered).
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if self.declared_size is not None and self.bytes_received != self.declared_size:
                raise InvalidArgument(
                    f"received {self.bytes_received} bytes but {self.declared_size} were "
                    "declared; the upload is incomplete",
                    received=self.bytes_received,
                    declared=self.declared_size,
                )
            if self.extension == ARCHIVE_EXTENSION:
                record = self._finish_archive()
            else:
                record = self._finish_file()
        except BaseException:
            if self._stored is not None:
                remove_path(self._stored)
            self.abort()
            raise
        self._done = True
        self._claim.release()
        return record

    def abort(self) -> None:
        """Drop the upload and everything it wrote; safe to call more than once."""
        self._done = True
        with contextlib.suppress(OSError):
            self._file.close()
        remove_path(self.temp_path)
        remove_path(self._temp_folder)
        self._claim.release()

    def _check_open(self) -> None:
        if self._done:
            raise FailedPrecondition("this upload is already finished or aborted")

    def _finish_file(self) -> SlideRecord:
        facts = validate_slide(self.temp_path, self._store.opener, self.filename)
        slide_id = new_slide_id()
        target = self._store.inside(self._store.slides_dir / f"{slide_id}{self.extension}")
        os.rename(self.temp_path, target)
        self._stored = target
        return self._record(slide_id, target, target.stat().st_size, facts)

    def _finish_archive(self) -> SlideRecord:
        self._temp_folder.mkdir()
        safe_extract(
            self.temp_path,
            self._temp_folder,
            max_total_bytes=self._store.max_unzipped_bytes,
            max_ratio=self._store.max_zip_ratio,
            max_members=self._store.max_zip_members,
        )
        remove_path(self.temp_path)
        main = find_main_slide_file(self._temp_folder)
        facts = validate_slide(main, self._store.opener, f"{self.filename}: {main.name}")
        slide_id = new_slide_id()
        folder = self._store.inside(self._store.slides_dir / slide_id)
        os.rename(self._temp_folder, folder)
        self._stored = folder
        stored = folder / main.relative_to(self._temp_folder)
        return self._record(slide_id, stored, _folder_size(folder), facts)

    def _record(self, slide_id: str, path: Path, size: int, facts: SlideFacts) -> SlideRecord:
        return SlideRecord(
            id=slide_id,
            filename=self.filename,
            stored_path=str(path),
            size_bytes=size,
            vendor=facts.vendor,
            width_px=facts.width_px,
            height_px=facts.height_px,
            level_count=facts.level_count,
            mpp=facts.mpp,
            mpp_y=facts.mpp_y,
            objective_power=facts.objective_power,
            levels=facts.levels,
        )


class SlideStore:
    """The slides folder: uploads in, slide files found by id, deletions."""

    def __init__(
        self,
        slides_dir: str | Path,
        *,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES,
        max_zip_ratio: float = DEFAULT_MAX_RATIO,
        max_zip_members: int = DEFAULT_MAX_MEMBERS,
        opener: Opener = open_slide,
    ) -> None:
        self.slides_dir = Path(slides_dir).resolve()
        self.slides_dir.mkdir(parents=True, exist_ok=True)
        self.max_upload_bytes = max_upload_bytes
        # What an archive may unpack to, in all and per compressed byte (unzip.py).
        self.max_unzipped_bytes = max_unzipped_bytes
        self.max_zip_ratio = max_zip_ratio
        self.max_zip_members = max_zip_members
        self.opener = opener

    def inside(self, path: Path) -> Path:
        """`path` resolved; InvalidArgument unless it lies inside slides_dir."""
        resolved = path.resolve()
        if resolved == self.slides_dir or not resolved.is_relative_to(self.slides_dir):
            raise InvalidArgument(f"path {path} is outside the slides folder")
        return resolved

    def check_upload(self, filename: str, declared_size: int | None = None) -> str:
        """The name an upload would be registered under; touches nothing on disk.

        Raises InvalidArgument for a bad name or extension and
        ResourceExhausted(PAYLOAD_TOO_LARGE) when `declared_size` is over the limit.
        """
        clean = sanitize_filename(filename)
        upload_extension(clean)
        if declared_size is not None:
            if declared_size < 0:
                raise InvalidArgument(f"declared size {declared_size} is negative")
            if declared_size > self.max_upload_bytes:
                raise _payload_too_large(self.max_upload_bytes, declared_size)
        return clean

    def begin_upload(self, filename: str, declared_size: int | None = None) -> Upload:
        """Start receiving a slide (or a .zip of one).

        Raises what check_upload raises, before a byte is written.
        """
        clean = self.check_upload(filename, declared_size)
        return Upload(self, clean, upload_extension(clean), declared_size)

    def locate(self, slide_id: str) -> Path:
        """The slide file of `slide_id` (the main file of a folder); NotFound if none."""
        canonical = parse_slide_id(slide_id)
        folder = self.slides_dir / canonical
        if folder.is_dir():
            return find_main_slide_file(folder)
        for extension in SLIDE_EXTENSIONS:
            path = self.slides_dir / f"{canonical}{extension}"
            if path.is_file():
                return path
        raise NotFound(f"slide {canonical} not found", slide_id=canonical)

    def delete(self, slide_id: str) -> bool:
        """Remove a slide's file or folder; False when there was nothing to remove."""
        canonical = parse_slide_id(slide_id)
        removed = False
        for path in (self.slides_dir / canonical, *self._single_file_paths(canonical)):
            if path.exists():
                remove_path(self.inside(path))
                removed = True
        return removed

    def sweep_unowned_uploads(self) -> int:
        """Remove uploads a crash left behind (run at start); returns how many went.

        Uploads another live process sharing the folder is receiving stay.
        """
        return sweep_unowned_uploads(self.slides_dir)

    def _single_file_paths(self, canonical: str) -> list[Path]:
        return [self.slides_dir / f"{canonical}{extension}" for extension in SLIDE_EXTENSIONS]


async def receive_upload(
    store: SlideStore,
    filename: str,
    chunks: AsyncIterable[bytes],
    declared_size: int | None = None,
    *,
    run: BlockingRunner = asyncio.to_thread,
) -> SlideRecord:
    """Store a slide arriving as an async stream of chunks (a gRPC or HTTP body).

    The name, extension and declared size are checked before the first chunk
    is read. Disk writes and the OpenSlide check run through `run` (worker
    threads; by default asyncio's); if the stream fails or the task is
    cancelled, the partial upload is removed.
    """
    beginning = asyncio.ensure_future(run(store.begin_upload, filename, declared_size))
    try:
        upload = await asyncio.shield(beginning)
    except asyncio.CancelledError:
        # Cancelled while the thread created the files: drop them once it has.
        with contextlib.suppress(Exception):
            (await beginning).abort()
        raise
    try:
        async for chunk in chunks:
            await run(upload.write, chunk)
    except BaseException:
        upload.abort()
        raise
    finishing = asyncio.ensure_future(run(upload.finish))
    try:
        return await asyncio.shield(finishing)
    except asyncio.CancelledError:
        # A thread cannot be stopped mid-rename: let finish end, then undo what it stored.
        with contextlib.suppress(Exception):
            record = await finishing
            store.delete(record.id)
        raise
