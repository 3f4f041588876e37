"""The `micrographia` command: the root options and the command groups."""

from __future__ import annotations

from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from cli.client import DEFAULT_URL
from cli.commands import files, fitting, jobs, processing, slides, spatial, system, workbench
from cli.errors import CliError
from cli.session import Settings, report_error


class ReportingGroup(TyperGroup):
    """Every CliError becomes one line (or a JSON body) and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CliError as error:
            settings = ctx.obj if isinstance(ctx.obj, Settings) else None
            report_error(error, settings.json if settings else False)
            raise typer.Exit(error.exit_code) from None
        finally:
            if isinstance(ctx.obj, Settings):
                ctx.obj.close()


app = typer.Typer(
    name="micrographia",
    cls=ReportingGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Micrographia from the terminal: files, workflows, fitting, slides and nuclei, "
    "through a running edge's REST API.",
    epilog="Example: micrographia --url http://lab-server:8000 status. "
    "Exit codes: 0 done, 1 the API or the job failed, 2 bad usage, "
    "3 the edge cannot be reached, 130 interrupted.",
)


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Option(envvar="MICROGRAPHIA_URL", help="The edge's address.", show_default=True),
    ] = DEFAULT_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="MICROGRAPHIA_API_KEY",
            help="Sent as Authorization: Bearer (needed when the edge sets API keys).",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = Settings(url=url, api_key=api_key or None)


system.register(app)
files.register(app)
processing.register(app)
jobs.register(app)
fitting.register(app)
slides.register(app)
spatial.register(app)
workbench.register(app)


def main() -> None:
    app(prog_name="micrographia")
