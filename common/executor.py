"""Where CPU-heavy per-FOV and per-cell work runs.

One machine: a local process pool sized by `n_workers`. Many machines: the
same `concurrent.futures.Executor` interface backed by a Dask distributed
cluster when a scheduler address is configured. No home-made queue.

A pool's workers die with the service that started them (`die_with`):
after a kill -9 of the service they would otherwise live on, re-parented to
PID 1, holding their memory.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

# How often a worker looks whether its parent is still there.
PARENT_CHECK_S = 0.5


def make_executor(n_workers: int | None = None, scheduler_address: str | None = None) -> Executor:
    """A process pool, or a Dask cluster's executor when `scheduler_address` is set."""
    if scheduler_address:
        # Imported lazily: only deployments that scale out need distributed.
        from distributed import Client

        client = Client(scheduler_address, set_as_default=False)
        executor = client.get_executor()
        finish = executor.shutdown

        def shutdown(wait: bool = True, **kwargs: object) -> None:
            # The executor is the client's only user: closing it closes the connection.
            finish(wait=wait)
            client.close()

        executor.shutdown = shutdown  # type: ignore[method-assign]
        return executor
    workers = n_workers or max(1, (os.cpu_count() or 2) - 1)
    # "spawn": forking a process that runs an asyncio loop and gRPC threads is unsafe.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=die_with,
        initargs=(os.getpid(),),
    )


def die_with(service_pid: int) -> None:
    """Process-pool initializer: this worker exits as soon as the service process
    `service_pid` is gone (or a zombie), checked every `PARENT_CHECK_S`.

    The service, not the worker's parent: a forkserver pool's workers are
    children of the forkserver, which lives on as long as they do. A watching
    thread, not prctl(PR_SET_PDEATHSIG): that signal follows the parent *thread*
    that forked, and pools start workers from whichever thread submits."""
    started = _start_time(service_pid)
    if started is None and not _PROC.is_dir():  # no /proc (macOS): watch the parent
        parent = os.getppid()

        def alive() -> bool:
            return os.getppid() == parent
    else:

        def alive() -> bool:
            # The same start time: not another process that reused the pid.
            return started is not None and _start_time(service_pid) == started

    def watch() -> None:
        while alive():
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-service", daemon=True).start()


_PROC = Path("/proc")


def _start_time(pid: int) -> str | None:
    """When `pid` started (Linux /proc), or None when it is gone or a zombie."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state is field 3
    state, start_time = fields[0], fields[19]  # field 22: starttime
    return None if state in ("Z", "X") else start_time
