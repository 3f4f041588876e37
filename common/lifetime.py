"""Pool workers die with the service that started them: after a kill -9 of the
service they would otherwise live on, re-parented to PID 1, holding their memory.
Its own module so that a service without Dask (inference) uses it without
importing the executor's scale-out code."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

# How often a worker looks whether its service is still there.
PARENT_CHECK_S = 0.5


def die_with(service_pid: int) -> None:
    """Process-pool initializer: this worker exits as soon as the service process
    `service_pid` is gone (or a zombie), checked every `PARENT_CHECK_S`.

    The service, not the worker's parent: a forkserver pool's workers are
    children of the forkserver, which lives on as long as they do. A watching
    thread, not prctl(PR_SET_PDEATHSIG): that signal follows the parent *thread*
    that forked, and pools start workers from whichever thread submits."""
    started = start_time(service_pid)
    if started is None and not _PROC.is_dir():  # no /proc (macOS): watch the parent
        parent = os.getppid()

        def alive() -> bool:
            return os.getppid() == parent
    else:

        def alive() -> bool:
            # The same start time: not another process that reused the pid.
            return started is not None and start_time(service_pid) == started

    def watch() -> None:
        while alive():
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
