"""`jobs ls|show|cancel|watch`: workflow, fitting and slide-analysis jobs, whichever
service owns them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cli.jobs import KINDS, find_job, follow, require_completed
from cli.session import JsonFlag, Session

jobs_app = typer.Typer(
    help="Workflow, fitting and slide-analysis jobs: list, inspect, cancel, follow.",
    epilog="Example: micrographia jobs watch 3f2c...e1",
)

JobId = Annotated[
    str, typer.Argument(help="The job's id (from `process`, `fit` or `slides analyze`).")
]
KindOption = Annotated[
    str | None,
    typer.Option(
        "--kind",
        help=f"{' or '.join(KINDS)}; default: asked of each job service.",
    ),
]


def _status_table(status: dict[str, Any]) -> Table:
    table = Table(title=f"Job {status.get('job_id')}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in status.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], ""))
        table.add_row(key, "" if value is None else str(value))
    return table


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise typer.BadParameter(f"--kind must be one of {', '.join(KINDS)}")


@jobs_app.command("ls", epilog="Example: micrographia jobs ls --json")
def list_jobs(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Jobs pending or running in any service."""
    session = Session(ctx, as_json)
    data = session.client.call("GET", "/jobs")

    def render(d: dict[str, Any]) -> None:
        table = Table(title=f"{d.get('total_active', 0)} active jobs")
        for column in ("job_id", "type", "status", "progress", "started_at", "message"):
            table.add_column(column, overflow="fold")
        for job in d.get("active_jobs") or []:
            table.add_row(
                job["job_id"],
                job.get("type") or "",
                job.get("status") or "",
                f"{job.get('progress') or 0:.0f}%",
                job.get("started_at") or "",
                job.get("message") or "",
            )
        session.out.print(table)
        if d.get("unavailable_services"):
            missing = ", ".join(d["unavailable_services"])
            session.err.print(f"[yellow]not answering:[/] {missing}")

    session.emit(data, render)


@jobs_app.command(epilog="Example: micrographia jobs show 3f2c...e1")
def show(ctx: typer.Context, job_id: JobId, kind: KindOption = None, as_json: JsonFlag = False):
    """A job's status, progress and error."""
    _check_kind(kind)
    session = Session(ctx, as_json)
    _, status = find_job(session, job_id, kind)
    session.emit(status, lambda d: session.out.print(_status_table(d)))


@jobs_app.command(epilog="Example: micrographia jobs cancel 3f2c...e1")
def cancel(ctx: typer.Context, job_id: JobId, kind: KindOption = None, as_json: JsonFlag = False):
    """Ask a pending or running job to stop."""
    _check_kind(kind)
    session = Session(ctx, as_json)
    job_kind, _ = find_job(session, job_id, kind)
    data = job_kind.cancel(session, job_id)
    session.emit(data, lambda d: session.out.print(f"Job {job_id}: {d.get('status')}"))


@jobs_app.command(epilog="Example: micrographia jobs watch 3f2c...e1")
def watch(ctx: typer.Context, job_id: JobId, kind: KindOption = None, as_json: JsonFlag = False):
    """Follow a job with a progress bar until it ends; exits 1 unless it completed."""
    _check_kind(kind)
    session = Session(ctx, as_json)
    job_kind, _ = find_job(session, job_id, kind)
    status = follow(session, job_kind, job_id)
    session.emit(status, lambda d: session.out.print(_status_table(d)))
    require_completed(job_kind, status)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
