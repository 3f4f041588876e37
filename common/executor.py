"""Where CPU-heavy per-FOV and per-cell work runs.

One machine: a local process pool sized by `n_workers`. Many machines: the
same `concurrent.futures.Executor` interface backed by a Dask distributed
cluster when a scheduler address is configured. No home-made queue.

A pool's workers die with the service that started them
(`common.lifetime.die_with`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context

from common.lifetime import die_with

# Modules every pool worker of this process needs, imported once by the forkserver.
_preloaded: set[str] = set()


def make_executor(
    n_workers: int | None = None,
    scheduler_address: str | None = None,
    preload: Iterable[str] = (),
) -> Executor:
    """A process pool, or a Dask cluster's executor when `scheduler_address` is set.

    `preload`: the modules the pool's tasks live in (and so import), for example
    `(run_fov.__module__,)`."""
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
    # Forking a process that runs an asyncio loop and gRPC threads is unsafe, and a
    # spawned worker imports the whole pipeline again (seconds of CPU per worker, per
    # job). A forkserver is a fresh single-threaded process that imports `preload`
    # once; each worker is a fork of it and starts at once. Its preload is fixed when
    # the first pool of the process starts it: a later pool's other modules are
    # imported by its workers, as before.
    context = get_context("forkserver")
    _preloaded.update(preload)
    context.set_forkserver_preload(sorted(_preloaded))
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=die_with,
        initargs=(os.getpid(),),
    )
