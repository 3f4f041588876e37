"""What every command shares: the edge client, and output as rich text or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.client import EdgeClient
from cli.errors import CliError

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print the API's answer as JSON (for scripts).")
]


@dataclass
class Settings:
    """The root options, kept on the click context for every command."""

    url: str
    api_key: str | None
    json: bool = False
    _client: EdgeClient | None = field(default=None, repr=False)

    @property
    def client(self) -> EdgeClient:
        if self._client is None:
            self._client = EdgeClient(self.url, self.api_key)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class Session:
    """One command's view: `client`, `out` (stdout), `err` (stderr: progress, errors)."""

    def __init__(self, ctx: typer.Context, as_json: bool = False) -> None:
        self.settings: Settings = ctx.find_root().obj
        self.settings.json = as_json
        self.as_json = as_json
        self.out = Console()
        self.err = Console(stderr=True)

    @property
    def client(self) -> EdgeClient:
        return self.settings.client

    def emit(self, data: Any, render: Callable[[Any], None]) -> None:
        """`data` as JSON with --json, else as `render` draws it."""
        if self.as_json:
            print_json(data)
        else:
            render(data)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def report_error(error: CliError, as_json: bool) -> None:
    if as_json:
        print_json(error.as_json())
    else:
        Console(stderr=True, highlight=False).print(
            f"[bold red]Error[/] {error.error_code}: {error.message}", soft_wrap=True
        )


def server_path(path: str | Path) -> str:
    """A path as the edge's machine reads it: relative paths are taken from the current
    folder (the usual case of a CLI beside its edge); absolute ones pass unchanged."""
    text = str(path)
    return text if text.startswith("/") else str(Path(text).absolute())
