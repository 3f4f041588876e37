"""Pool workers die with the service that started them: after a kill -9 of the
service they would otherwise live on, re-parented to PID 1, holding their memory.
Its own module so that a service without Dask (inference) uses it without
importing the executor's scale-out code."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# How often a worker looks whether its service is still there.
PARENT_CHECK_S = 0.5


@dataclass(frozen=True)
class WatchedProcess:
    """A process known by pid and start time, so that another process reusing the
    pid is not taken for it. Picklable: made in the service, asked in a worker."""

    pid: int
    started: str | None
    # Without /proc (macOS): the pid a worker's own parent must still be.
    parent: int

    @classmethod
    def of(cls, pid: int, parent: int | None = None) -> WatchedProcess:
        return cls(pid, start_time(pid), pid if parent is None else parent)

    def alive(self) -> bool:
        if self.started is None and not _PROC.is_dir():
            return os.getppid() == self.parent
        return self.started is not None and start_time(self.pid) == self.started


def die_with(service_pid: int) -> None:
    """Process-pool initializer: this worker exits as soon as the service process
    `service_pid` is gone (or a zombie), checked every `PARENT_CHECK_S`.

    The service, not the worker's parent: a forkserver pool's workers are
    children of the forkserver, which lives on as long as they do. A watching
    thread, not prctl(PR_SET_PDEATHSIG): that signal follows the parent *thread*
    that forked, and pools start workers from whichever thread submits."""
    service = WatchedProcess.of(service_pid, parent=os.getppid())

    def watch() -> None:
        while service.alive():
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-service", daemon=True).start()


_PROC = Path("/proc")


def start_time(pid: int) -> str | None:
    """When `pid` started (Linux /proc), or None when it is gone or a zombie."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state is field 3
    state, start_time = fields[0], fields[19]  # field 22: starttime
    return None if state in ("Z", "X") else start_time
