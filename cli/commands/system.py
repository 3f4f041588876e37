"""`status`: the edge and every backend (GET /health)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from cli.errors import EXIT_FAILURE
from cli.session import JsonFlag, Session

STATE_STYLE = {"serving": "green", "healthy": "green"}


def _state(text: str | None) -> str:
    text = text or "unknown"
    return f"[{STATE_STYLE.get(text, 'red')}]{text}[/]"


def register(app: typer.Typer) -> None:
    @app.command(epilog="Example: micrographia status --json | jq .backends")
    def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """The edge and every backend service, with addresses and latencies.

        Exits 1 when any backend is not serving.
        """
        session = Session(ctx, as_json)
        health: dict[str, Any] = session.client.call("GET", "/health")

        def render(data: dict[str, Any]) -> None:
            table = Table(title=f"Micrographia {data.get('version', '')} at {session.client.url}")
            for column in ("service", "status", "address", "latency", "error"):
                table.add_column(column)
            uptime = data.get("uptime")
            table.add_row(
                "edge", _state(data.get("status")), session.client.url, "", f"up {uptime}s"
            )
            for name, backend in (data.get("backends") or {}).items():
                latency = backend.get("latency_ms")
                table.add_row(
                    name,
                    _state(backend.get("status")),
                    backend.get("address") or "",
                    f"{latency:.1f} ms" if latency is not None else "",
                    backend.get("error") or "",
                )
            session.out.print(table)
            active = data.get("active_jobs")
            session.out.print(f"Active jobs: {active if active is not None else 'unknown'}")

        session.emit(health, render)
        if health.get("status") != "healthy":
            raise typer.Exit(EXIT_FAILURE)
