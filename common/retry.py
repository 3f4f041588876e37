"""Bounded waiting for a peer service that is UNAVAILABLE, for long jobs.

A job that calls another service (a whole-slide job's regions, a workflow's Cellpose
frames) should ride out a restart or a short outage of that service rather than fail
at the first UNAVAILABLE: it retries with backoff (0.5 s doubling to 10 s) for a
bounded time, its progress saying what it waits for, and only then fails. One
`UnavailableBackoff` follows one outage; a call that succeeds ends it (`reset`).
It is plain data, so it also works inside pool workers (sync code).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import grpc

FIRST_WAIT_S = 0.5
LONGEST_WAIT_S = 10.0


def is_unavailable(error: grpc.RpcError) -> bool:
    """Whether a failed call is worth waiting out (the peer, or its own dependency, is gone)."""
    code = getattr(error, "code", None)
    return callable(code) and code() == grpc.StatusCode.UNAVAILABLE


@dataclass
class UnavailableBackoff:
    """How long to wait before the next try of a call that failed as UNAVAILABLE.

    `next_wait()` after each such failure: the seconds to wait, or None once the
    outage has lasted `window_s` (then the caller fails, in its user's terms)."""

    window_s: float
    first_s: float = FIRST_WAIT_S
    longest_s: float = LONGEST_WAIT_S
    _since: float | None = field(default=None, init=False)
    _delay: float = field(default=0.0, init=False)

    def next_wait(self) -> float | None:
        now = time.monotonic()
        if self._since is None:
            self._since, self._delay = now, self.first_s
        left = self.window_s - (now - self._since)
        if left <= 0:
            return None
        wait = min(self._delay, left)
        self._delay = min(self._delay * 2, self.longest_s)
        return wait

    def reset(self) -> None:
        """The call went through: a later failure is a new outage, with its own window."""
        self._since = None
