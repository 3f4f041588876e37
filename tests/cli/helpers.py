"""Running the `micrographia` command in-process (typer's CliRunner) and reading
its JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from cli.main import app


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def data(self) -> Any:
        return json.loads(self.stdout)


Run = Callable[..., Outcome]


def invoke(url: str, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> Outcome:
    runner = CliRunner()
    # Wide enough that rich tables keep names whole.
    env = {"COLUMNS": "200", **(env or {})}
    result = runner.invoke(app, ["--url", url, *args], env=env, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a bug in the CLI: show its traceback in the test
    assert "Traceback" not in result.output
    return Outcome(result.exit_code, result.stdout, result.stderr)


def ok(outcome: Outcome) -> Any:
    """The JSON of a command that must have succeeded."""
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    return outcome.data


def failed(outcome: Outcome, error_code: str, exit_code: int = 1) -> dict[str, Any]:
    """The JSON error body of a command that must have failed with `error_code`."""
    assert outcome.exit_code == exit_code, outcome.stdout + outcome.stderr
    body = outcome.data
    assert body["success"] is False
    assert body["error_code"] == error_code, body
    return body
