"""The command as a whole: help with an example everywhere, the edge's address and
API key from options or environment, and failures as one line and an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from cli.main import app
from edge.settings import EdgeSettings
from tests.cli.helpers import failed, invoke, ok
from tests.harness import free_port


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


GROUPS = sorted(
    (name,)
    for name, command in typer.main.get_command(app).commands.items()
    if isinstance(command, click.Group)
)


REPO_ROOT = Path(__file__).resolve().parents[2]
ALL_COMMANDS = sorted(_commands(typer.main.get_command(app)))


def test_every_issue_command_exists():
    wanted = {
        ("status",), ("files", "ls"), ("files", "search"), ("files", "info"), ("metadata",),
        ("frame",), ("process",), ("jobs", "ls"), ("jobs", "show"), ("jobs", "cancel"),
        ("jobs", "watch"), ("merge",), ("fit",), ("models",), ("slides", "ls"),
        ("slides", "upload"), ("slides", "rm"), ("slides", "info"), ("analyze",),
        ("roi-stats",), ("boxes", "ls"), ("boxes", "show"), ("boxes", "rm"),
        ("export-geojson",),
    }  # fmt: skip
    assert wanted <= set(ALL_COMMANDS)


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example_and_json(command):
    result = invoke("http://unused", *command, "--help")
    assert result.exit_code == 0
    assert "Example: micrographia " + command[0] in result.stdout
    assert "--json" in result.stdout


@pytest.mark.parametrize("group", [(), *GROUPS], ids=lambda g: " ".join(g) or "micrographia")
def test_every_group_has_help_with_an_example(group):
    result = invoke("http://unused", *group, "--help")
    assert result.exit_code == 0
    assert "Example: micrographia" in result.stdout


def test_an_edge_that_is_down_is_named_with_its_own_exit_code():
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke(url, "status")
    assert result.exit_code == 3
    assert f"cannot reach the edge at {url}" in result.stderr
    body = failed(invoke(url, "jobs", "ls", "--json"), "EDGE_UNREACHABLE", exit_code=3)
    assert body["details"]["url"] == url


def test_status_shows_the_edge_and_every_backend(cli):
    health = ok(cli("status", "--json"))
    assert set(health["backends"]) == {"microscopy", "analysis", "slides", "inference", "spatial"}
    table = cli("status")
    assert table.exit_code == 0
    for name in ("edge", *health["backends"]):
        assert name in table.stdout
    assert "serving" in table.stdout


def test_status_of_a_degraded_platform_exits_1(platform, cli):
    platform.stop_service("spatial")
    try:
        result = cli("status", "--json")
        assert result.exit_code == 1
        assert result.data["status"] == "degraded"
        assert result.data["backends"]["spatial"]["status"] != "serving"
    finally:
        platform.start_service("spatial")


def test_the_api_key_comes_from_the_environment_or_an_option(platform):
    with platform.extra_edge(EdgeSettings(port=free_port()), api_keys=["s3cret"]) as url:
        failed(invoke(url, "jobs", "ls", "--json"), "UNAUTHORIZED")
        failed(invoke(url, "--api-key", "wrong", "jobs", "ls", "--json"), "FORBIDDEN")
        ok(invoke(url, "--api-key", "s3cret", "jobs", "ls", "--json"))
        ok(invoke(url, "jobs", "ls", "--json", env={"MICROGRAPHIA_API_KEY": "s3cret"}))


def test_the_edge_address_comes_from_the_environment(platform):
    env = {"MICROGRAPHIA_URL": platform.base_url}
    result = CliRunner().invoke(app, ["jobs", "ls", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip().startswith("{")


def test_the_console_script_runs_as_a_module():
    """`python -m cli` is what the `micrographia` script runs (cli.main:main)."""
    url = f"http://127.0.0.1:{free_port()}"
    process = subprocess.run(
        [sys.executable, "-m", "cli", "--url", url, "status"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 3
    assert "cannot reach the edge" in process.stderr
    assert "Traceback" not in process.stderr
