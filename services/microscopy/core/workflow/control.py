"""How a running job and its FOV workers talk: small files in the output folder.

Workers may be processes of a local pool or of a Dask cluster on other machines;
the output folder is the one place both sides see (workers write their results
there anyway). So the callables `run_fov` gets are picklable objects over files:
- `ProgressFile` (on_progress) writes the FOV's step and frame count (and the
  service it waits for, during an outage), throttled,
  by temporary name and rename, so the job never reads half a file;
- `StopFlag` (should_stop) looks for the job's cancel flag, and, in a local pool,
  also stops a worker whose service process died (kill -9), so an orphan does not
  keep writing beside the resumed job.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from common.lifetime import WatchedProcess

CONTROL_DIR = ".micrographia"
# Progress writes per FOV and second at most; the job polls at about this rate.
_MIN_INTERVAL_S = 0.2


@dataclass(frozen=True)
class FovProgress:
    """One FOV's last reported position."""

    fov: int
    step: str
    done: int
    total: int
    waiting: str = ""  # the service the step waits for, while it does


def control_dir(output_dir: str | os.PathLike[str], job_id: str) -> Path:
    """The job's folder of control files inside its output folder."""
    return Path(output_dir) / CONTROL_DIR / job_id


class ProgressFile:
    """on_progress(step, done, total) for one FOV: writes `<control>/fov_XXX.json`."""

    def __init__(self, folder: str | os.PathLike[str], fov: int) -> None:
        self.path = str(Path(folder) / f"fov_{fov:03d}.json")
        self.fov = fov
        self._last_step = ""
        self._last_waiting = ""
        self._last_write = 0.0

    def __getstate__(self) -> dict[str, object]:
        # Throttle state is per process: a copy on a worker starts afresh.
        return {"path": self.path, "fov": self.fov}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.path = str(state["path"])
        self.fov = int(state["fov"])  # type: ignore[call-overload]
        self._last_step = ""
        self._last_waiting = ""
        self._last_write = 0.0

    def __call__(self, step: str, done: int, total: int, waiting: str = "") -> None:
        now = time.monotonic()
        boundary = step != self._last_step or waiting != self._last_waiting or done >= total
        if not boundary and now - self._last_write < _MIN_INTERVAL_S:
            return
        self._last_step, self._last_waiting, self._last_write = step, waiting, now
        record = {"fov": self.fov, "step": step, "done": done, "total": total, "waiting": waiting}
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w") as handle:
            json.dump(record, handle)
        os.replace(temporary, self.path)


def read_progress(folder: str | os.PathLike[str], fov: int) -> FovProgress | None:
    """The FOV's last progress record; None before its first."""
    try:
        with open(Path(folder) / f"fov_{fov:03d}.json") as handle:
            record = json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return FovProgress(
        fov,
        str(record["step"]),
        int(record["done"]),
        int(record["total"]),
        str(record.get("waiting", "")),
    )


class StopFlag:
    """should_stop(): True once `<control>/cancel` exists, or, with `parent_pid`, once
    the process that started the job is gone (its pool worker is an orphan).

    The job's process, not the worker's parent: a forkserver pool's workers are
    children of the forkserver. Made in the job's process, where it notes when that
    process started, so that another process reusing the pid is not taken for it."""

    def __init__(self, folder: str | os.PathLike[str], parent_pid: int | None = None) -> None:
        self.path = str(Path(folder) / "cancel")
        self.parent = WatchedProcess.of(parent_pid) if parent_pid is not None else None

    def __call__(self) -> bool:
        parent = self.parent
        if parent is not None and os.getpid() != parent.pid and not parent.alive():
            return True  # an orphaned pool worker (a thread of the parent itself is not)
        return os.path.exists(self.path)

    def raise_flag(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        Path(self.path).touch()

    def lower_flag(self) -> None:
        Path(self.path).unlink(missing_ok=True)
