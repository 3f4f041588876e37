"""Following a job: its kind (workflow, fitting or slide analysis), a live progress bar from its
SSE stream, and Ctrl-C that asks whether to cancel it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from cli.errors import EXIT_INTERRUPTED, ApiError, JobFailed
from cli.session import Session

TERMINAL = {"completed", "failed", "cancelled"}


@dataclass(frozen=True)
class JobKind:
    name: str
    prefix: str  # the routes: {prefix}/status|events|cancel|results/{job_id}
    unit: str  # what `current`/`total` count
    current: str
    total: str

    def status(self, session: Session, job_id: str) -> dict[str, Any]:
        return session.client.call("GET", f"{self.prefix}/status/{job_id}")

    def results(self, session: Session, job_id: str) -> dict[str, Any]:
        return session.client.call("GET", f"{self.prefix}/results/{job_id}")

    def cancel(self, session: Session, job_id: str) -> dict[str, Any]:
        return session.client.call("POST", f"{self.prefix}/cancel/{job_id}")


WORKFLOW = JobKind("workflow", "/api/processing/workflow", "FOV", "current_fov", "total_fovs")
FITTING = JobKind("fitting", "/api/analysis/fitting", "cell", "current_cell", "total_cells")
SLIDE_ANALYSIS = JobKind(
    "slide-analysis", "/api/slide-analysis", "region", "regions_done", "regions_total"
)
KINDS = {kind.name: kind for kind in (WORKFLOW, FITTING, SLIDE_ANALYSIS)}


def find_job(session: Session, job_id: str, kind: str | None = None) -> tuple[JobKind, dict]:
    """The job's kind and status. Without `kind`, each job service is asked in turn:
    job ids are unique, so only the owner knows it."""
    candidates = [KINDS[kind]] if kind else list(KINDS.values())
    last: ApiError | None = None
    for candidate in candidates:
        try:
            return candidate, candidate.status(session, job_id)
        except ApiError as error:
            if error.status != 404:
                raise
            last = error
    assert last is not None
    raise last


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}:{minutes:02d}:{secs:02d}" if hours else f"ETA {minutes}:{secs:02d}"


def _describe(kind: JobKind, status: dict[str, Any]) -> dict[str, Any]:
    progress = status.get("progress") or {}
    total = progress.get(kind.total) or 0
    current = progress.get(kind.current) or 0
    step = progress.get("current_step") or status.get("status", "")
    return {
        "completed": progress.get("percentage") or 0.0,
        "where": f"{kind.unit} {current}/{total}" if total else "",
        "step": step,
        "eta": _eta(progress.get("estimated_remaining")),
    }


def follow(session: Session, kind: JobKind, job_id: str) -> dict[str, Any]:
    """Show the job's progress until it ends; returns its last status.

    The stream is reopened if it ends before the job does (a proxy's or the
    edge's stream deadline). Ctrl-C asks whether to cancel the job; either way the command ends.
    """
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[where]}"),
        TextColumn("[cyan]{task.fields[step]}"),
        TextColumn("{task.fields[eta]}"),
    )
    progress = Progress(*columns, console=session.err, disable=not session.err.is_terminal)
    status: dict[str, Any] = {"status": "pending"}
    with ctrl_c_interrupts():
        try:  # from the first line on: Ctrl-C right after it must still ask
            message = f"Following {kind.name} job {job_id} (Ctrl-C to stop)"
            session.err.print(message, highlight=False)
            with progress:
                bar = progress.add_task(kind.name, total=100.0, where="", step="", eta="")
                while status.get("status") not in TERMINAL:
                    events = session.client.events("GET", f"{kind.prefix}/events/{job_id}")
                    for _, status in events:
                        progress.update(bar, **_describe(kind, status))
                        if status.get("status") in TERMINAL:
                            break
                    else:
                        status = kind.status(session, job_id)
        except KeyboardInterrupt:
            _interrupted(session, kind, job_id)
    return status


@contextmanager
def ctrl_c_interrupts() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt inside, whatever this process inherited.

    A process started by one that ignores SIGINT (a shell's `&` without job control,
    a test runner or supervisor started that way) inherits the ignoring, and Python then
    installs no KeyboardInterrupt handler; a blocked SIGINT is inherited the same way.
    Either made the user's Ctrl-C vanish while a job was followed: the command went on
    to the job's end and exited 0. Following promises "Ctrl-C to stop", so it takes
    SIGINT back for as long as it follows, and gives the inherited state back after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; an embedding program owns them
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    masks = hasattr(signal, "pthread_sigmask")
    was_blocked = masks and signal.SIGINT in signal.pthread_sigmask(
        signal.SIG_UNBLOCK, {signal.SIGINT}
    )
    try:
        yield
    finally:
        if was_blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        if previous is not None:  # None: a handler installed outside Python, left alone
            signal.signal(signal.SIGINT, previous)


def _interrupted(session: Session, kind: JobKind, job_id: str) -> None:
    try:
        cancel = typer.confirm(f"\nCancel {kind.name} job {job_id}?", default=False, err=True)
    except (typer.Abort, KeyboardInterrupt):
        cancel = False
    if cancel:
        answer = kind.cancel(session, job_id)
        session.err.print(f"Job {job_id}: {answer.get('status', 'cancelling')}")
    else:
        session.err.print(f"Job {job_id} goes on; follow it with: micrographia jobs watch {job_id}")
    raise typer.Exit(EXIT_INTERRUPTED)


def require_completed(kind: JobKind, status: dict[str, Any]) -> None:
    """JobFailed unless the job completed, with the job's own error."""
    state = status.get("status")
    if state == "completed":
        return
    error = status.get("error") or {}
    message = error.get("message") or status.get("message") or f"the job is {state}"
    raise JobFailed(
        error.get("code") or f"JOB_{str(state).upper()}",
        f"{kind.name} job {status.get('job_id')} {state}: {message}",
        {"job_id": status.get("job_id"), "status": state},
    )
