"""`fit` (a model to every cell of a trace CSV) and `models`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cli.errors import UsageError
from cli.jobs import FITTING, follow, require_completed
from cli.session import JsonFlag, Session, server_path


def parse_assignments(items: list[str], what: str) -> dict[str, str]:
    """['rate=0.2', ...] -> {'rate': '0.2'}; UsageError naming a malformed item."""
    values: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise UsageError(f"{what} {item!r} is not NAME=VALUE", option=what)
        values[name.strip()] = value.strip()
    return values


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a number", option=what) from None


def parse_params(items: list[str]) -> dict[str, float]:
    return {
        name: _number(value, f"--param {name}")
        for name, value in parse_assignments(items, "--param").items()
    }


def parse_bounds(items: list[str]) -> dict[str, list[float]]:
    bounds = {}
    for name, value in parse_assignments(items, "--bounds").items():
        low, colon, high = value.partition(":")
        if not colon:
            raise UsageError(f"--bounds {name}={value}: write LOW:HIGH, e.g. 0.01:1")
        bounds[name] = [_number(low, f"--bounds {name}"), _number(high, f"--bounds {name}")]
    return bounds


def _summary(session: Session, results: dict[str, Any]) -> None:
    summary = results.get("summary") or {}
    session.out.print(
        f"[bold]{results.get('model_type')}[/]: {summary.get('successful_fits', 0)} of "
        f"{summary.get('total_cells', 0)} cells fitted, mean R² "
        f"{summary.get('mean_r_squared', float('nan')):.3f} "
        f"(sd {summary.get('std_r_squared', float('nan')):.3f})"
    )
    table = Table(title="Parameters over the fitted cells")
    for column in ("parameter", "mean", "std", "min", "max"):
        table.add_column(column, justify="right" if column != "parameter" else "left")
    for parameter in results.get("parameters") or []:
        table.add_row(
            parameter["name"],
            *(f"{parameter.get(key, float('nan')):.4g}" for key in ("mean", "std", "min", "max")),
        )
    session.out.print(table)
    if results.get("results_file"):
        session.out.print(f"Per-cell fits: {results['results_file']}")


def register(app: typer.Typer) -> None:
    @app.command(
        epilog="Example: micrographia fit merged/control_merged.csv --model maturation "
        "--param rate=0.2 --bounds rate=0.01:1"
    )
    def fit(
        ctx: typer.Context,
        traces: Annotated[str, typer.Argument(help="Trace CSV (cell, time, value columns).")],
        model: Annotated[str, typer.Option(help="Model name (see `micrographia models`).")],
        param: Annotated[
            list[str] | None, typer.Option(help="Initial value, NAME=VALUE (repeatable).")
        ] = None,
        bounds: Annotated[
            list[str] | None, typer.Option(help="Bounds, NAME=LOW:HIGH (repeatable).")
        ] = None,
        good_fits_only: Annotated[
            bool, typer.Option(help="Fit only rows flagged good; refuse a CSV without `good`.")
        ] = False,
        include_bad_cells: Annotated[
            bool,
            typer.Option(
                help="Fit cells marked bad (`micrographia mark`) too; left out by default."
            ),
        ] = False,
        value_column: Annotated[
            str | None,
            typer.Option(
                help="Column to fit, e.g. intensity_total_ch_1 (default: `value`, "
                "else the file's one feature column)."
            ),
        ] = None,
        workers: Annotated[int | None, typer.Option(min=1, help="Parallel workers.")] = None,
        wait: Annotated[
            bool, typer.Option(help="Follow the progress, then print the summary.")
        ] = True,
        as_json: JsonFlag = False,
    ) -> None:
        """Fit a kinetic model to every cell; a progress bar, then the summary."""
        session = Session(ctx, as_json)
        options: dict[str, Any] = {
            "good_fits_only": good_fits_only,
            "include_bad_cells": include_bad_cells,
        }
        if workers is not None:
            options["n_workers"] = workers
        if value_column is not None:
            options["columns"] = {"value_column": value_column}
        body = {
            "csv_path": server_path(traces),
            "model_type": model,
            "model_params": parse_params(param or []),
            "model_bounds": parse_bounds(bounds or []),
            "options": options,
        }
        started = session.client.call("POST", "/api/analysis/fitting/start", json=body)
        job_id = started["job_id"]
        if not wait:
            session.emit(started, lambda d: session.out.print(f"Started fitting job {job_id}"))
            return
        status = follow(session, FITTING, job_id)
        require_completed(FITTING, status)
        results = FITTING.results(session, job_id)
        session.emit(results, lambda d: _summary(session, d))

    @app.command(epilog="Example: micrographia models --json")
    def models(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """The fitting models, their equations and parameters."""
        session = Session(ctx, as_json)
        data = session.client.call("GET", "/api/analysis/models")

        def render(items: list[dict[str, Any]]) -> None:
            table = Table(title="Fitting models")
            for column in ("model", "equation", "parameters (default, bounds)"):
                table.add_column(column, overflow="fold")
            for item in items:
                parameters = "\n".join(
                    f"{p['name']} = {p['default']:g} [{p['bounds'][0]:g}, {p['bounds'][1]:g}]"
                    for p in item.get("parameters") or []
                )
                table.add_row(item["name"], item.get("equation") or "", parameters)
            session.out.print(table)

        session.emit(data, render)
