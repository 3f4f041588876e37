"""Which uploads in the slides folder a live process still owns.

Every upload's files share a token: `.upload-<token>.part`, `.upload-<token>.d`.
Before writing them, the receiving process creates `.upload-<token>.lock` and
holds an exclusive flock on it until it has removed or renamed them. The kernel
drops a flock when its process dies, however it dies (kill -9 included), so at
start a replica can tell debris from an upload another replica sharing the
folder is receiving right now: debris is whatever has no lock, or a lock that
can be taken. An age threshold could not tell the two apart.

Taking a claim races with a sweep that removes an unheld lock file between its
creation and the flock; the claimer notices (the path no longer names its
locked file) and starts again with a new token.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

UPLOAD_PREFIX = ".upload-"
LOCK_SUFFIX = ".lock"


@dataclass
class UploadClaim:
    """A held claim on one upload's token; `release` after its files are gone."""

    token: str
    lock_path: Path
    _descriptor: int | None
    _releasing: threading.Lock = field(default_factory=threading.Lock)

    def release(self) -> None:
        """Remove the lock file and let go of it; safe to call more than once, from
        any thread (an abort may race a failing write)."""
        with self._releasing:
            if self._descriptor is None:
                return
            self.lock_path.unlink(missing_ok=True)
            os.close(self._descriptor)
            self._descriptor = None


def claim_upload(folder: Path) -> UploadClaim:
    """A fresh token for an upload into `folder`, with its lock held."""
    while True:
        token = uuid.uuid4().hex
        lock_path = folder / f"{UPLOAD_PREFIX}{token}{LOCK_SUFFIX}"
        descriptor = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            # Blocks only while a sweep holds it, which it does for an instant.
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            if _names(lock_path, descriptor):
                return UploadClaim(token, lock_path, descriptor)
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)  # a sweep removed it meanwhile: take another token


def upload_token(name: str) -> str | None:
    """The token of an upload's file or folder name; None for anything else."""
    if not name.startswith(UPLOAD_PREFIX):
        return None
    token = name[len(UPLOAD_PREFIX) :].split(".", 1)[0]
    return token or None


def sweep_unowned_uploads(folder: Path) -> int:
    """Remove every upload in `folder` that no live process holds; how many went.

    Uploads other processes (replicas sharing the folder) are receiving stay.
    """
    tokens: dict[str, list[Path]] = {}
    for entry in folder.iterdir():
        token = upload_token(entry.name)
        if token is not None:
            tokens.setdefault(token, []).append(entry)
    removed = 0
    for token, entries in tokens.items():
        lock_path = folder / f"{UPLOAD_PREFIX}{token}{LOCK_SUFFIX}"
        owned, descriptor = _take_if_unowned(lock_path)
        if owned:
            continue
        try:
            # The lock goes last, so its token stays taken until the files are gone.
            for entry in entries:
                if entry != lock_path:
                    remove_path(entry)
            lock_path.unlink(missing_ok=True)
        finally:
            if descriptor is not None:
                os.close(descriptor)
        removed += 1
    return removed


def remove_path(path: Path) -> None:
    """Remove a file or folder if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _take_if_unowned(lock_path: Path) -> tuple[bool, int | None]:
    """(True, None) while a live process holds the lock; else (False, the lock's
    descriptor, now held by us, or None when there is no lock file)."""
    try:
        descriptor = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False, None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return True, None
    return False, descriptor


def _names(path: Path, descriptor: int) -> bool:
    """True while `path` is the file open as `descriptor`."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)
