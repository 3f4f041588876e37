"""`cells` (look at a trace CSV's cells), `mark` (good or bad), `samples` (the samples
YAML merge reads, without writing YAML) and `fitted` (the fitted-results table)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.errors import UsageError
from cli.session import JsonFlag, Session, server_path


def parse_cells(items: list[str], good: bool) -> list[dict[str, Any]]:
    """ "FOV:CELL" (or "CELL", FOV 0) -> marks."""
    marks = []
    for item in items:
        fov, _, cell = item.rpartition(":")
        try:
            marks.append({"fov": int(fov or 0), "cell": int(cell), "good": good})
        except ValueError:
            raise UsageError(f"{item!r} is not a cell: write FOV:CELL, e.g. 0:12") from None
    return marks


def parse_samples(items: list[str]) -> list[dict[str, str]]:
    """ "NAME=RANGES" -> samples ("control=0-3,7")."""
    samples = []
    for item in items:
        name, equals, fovs = item.partition("=")
        if not equals or not name or not fovs:
            raise UsageError(f"{item!r} is not a sample: write NAME=FOVS, e.g. control=0-3,7")
        samples.append({"name": name.strip(), "fovs": fovs.strip()})
    return samples


def _cells_table(session: Session, data: dict[str, Any]) -> None:
    table = Table(
        title=f"{data.get('total_cells')} of {data.get('all_cells')} cells "
        f"({data.get('good_cells')} good) in {data.get('traces_path')}"
    )
    features = data.get("features") or []
    for column in ("fov", "cell", "good", "frames", "parent", "daughters", *features):
        table.add_column(column, justify="right")
    for cell in data.get("cells") or []:
        means = cell.get("feature_means") or {}
        table.add_row(
            str(cell.get("fov", 0)),
            str(cell.get("cell", 0)),
            "yes" if cell.get("good") else "[red]no[/]",
            f"{cell.get('n_frames', 0)} ({cell.get('first_frame', 0)}-{cell.get('last_frame', 0)})",
            str(cell.get("parent", -1)),
            ",".join(map(str, cell.get("daughters") or [])),
            *(f"{means.get(name, float('nan')):.4g}" for name in features),
        )
    session.out.print(table)


def register(app: typer.Typer) -> None:
    @app.command(
        epilog="Example: micrographia cells out/fov_000/exp_fov_000_traces.csv --sort n_frames"
    )
    def cells(
        ctx: typer.Context,
        traces: Annotated[str, typer.Argument(help="A trace CSV (per FOV or merged).")],
        sort: Annotated[
            str, typer.Option(help="fov, cell, n_frames, good, parent or a feature column.")
        ] = "fov",
        descending: Annotated[bool, typer.Option("--desc", help="Largest first.")] = False,
        only: Annotated[str | None, typer.Option(help="Only `good` or `bad` cells.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=10000, help="Cells to show.")] = 100,
        offset: Annotated[int, typer.Option(min=0, help="Cells to skip.")] = 0,
        as_json: JsonFlag = False,
    ) -> None:
        """The cells of a trace CSV: track length, good flag, lineage, feature means."""
        session = Session(ctx, as_json)
        if only not in (None, "good", "bad"):
            raise UsageError(f"--only takes good or bad, not {only!r}")
        params: dict[str, Any] = {
            "traces_path": server_path(traces),
            "sort_by": sort,
            "descending": descending,
            "limit": limit,
            "offset": offset,
        }
        if only:
            params["good"] = only == "good"
        data = session.client.call("GET", "/api/processing/cells", params=params)
        session.emit(data, lambda d: _cells_table(session, d))

    @app.command(
        epilog="Example: micrographia mark out/fov_000/exp_fov_000_traces.csv --bad 0:3 "
        "--bad 0:8 --shorter-than 20"
    )
    def mark(
        ctx: typer.Context,
        traces: Annotated[str, typer.Argument(help="A trace CSV (per FOV or merged).")],
        bad: Annotated[list[str] | None, typer.Option(help="FOV:CELL to leave out.")] = None,
        good: Annotated[
            list[str] | None, typer.Option(help="FOV:CELL to keep (undoes --bad).")
        ] = None,
        shorter_than: Annotated[
            int | None, typer.Option(min=1, help="Mark bad every track shorter than this.")
        ] = None,
        border: Annotated[
            int | None,
            typer.Option(min=0, help="Mark bad every cell within this many px of the edge."),
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Mark cells good or bad in the CSV's `good` column (merge and fitting leave
        bad cells out)."""
        session = Session(ctx, as_json)
        body: dict[str, Any] = {
            "traces_path": server_path(traces),
            "cells": parse_cells(bad or [], False) + parse_cells(good or [], True),
        }
        if shorter_than is not None or border is not None:
            body["rule"] = {"min_frames": shorter_than, "border_margin": border}
        if not body["cells"] and "rule" not in body:
            raise UsageError("name cells (--bad/--good) or a rule (--shorter-than/--border)")
        data = session.client.call("POST", "/api/processing/cells/quality", json=body)
        session.emit(
            data,
            lambda d: session.out.print(
                f"{d.get('cells_changed', 0)} cell(s) changed; "
                f"{d.get('good_cells', 0)} of {d.get('total_cells', 0)} cells are good"
            ),
        )

    samples_app = typer.Typer(
        help="The samples YAML merge reads.",
        epilog="Example: micrographia samples save samples.yaml --in out "
        "--sample control=0-3 --sample treated=4-7",
        no_args_is_help=True,
    )
    app.add_typer(samples_app, name="samples")

    def _samples_table(session: Session, data: dict[str, Any]) -> None:
        table = Table(title=data.get("sample_yaml") or "samples")
        table.add_column("sample")
        table.add_column("FOVs")
        for sample in data.get("samples") or []:
            table.add_row(sample.get("name", ""), sample.get("fovs", ""))
        session.out.print(table)
        if data.get("available_fovs"):
            session.out.print(f"FOVs with traces: {data['available_fovs']}")
        merged = data.get("merge")
        if merged:
            session.out.print(f"Merged into {merged.get('output_dir')}")

    @samples_app.command("show", epilog="Example: micrographia samples show samples.yaml --in out")
    def show(
        ctx: typer.Context,
        samples: Annotated[str, typer.Argument(help="samples.yaml")],
        input_dir: Annotated[
            str | None, typer.Option("--in", help="The workflow's output folder.")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """The samples of a YAML, and the FOVs with traces in an output folder."""
        session = Session(ctx, as_json)
        params = {"sample_yaml": server_path(samples)}
        if input_dir:
            params["input_dir"] = server_path(input_dir)
        data = session.client.call("GET", "/api/processing/samples", params=params)
        session.emit(data, lambda d: _samples_table(session, d))

    @samples_app.command(
        "save",
        epilog="Example: micrographia samples save samples.yaml --in out "
        "--sample control=0-3 --sample treated=4-7 --merge-into merged",
    )
    def save(
        ctx: typer.Context,
        samples: Annotated[str, typer.Argument(help="samples.yaml to write")],
        input_dir: Annotated[str, typer.Option("--in", help="The workflow's output folder.")],
        sample: Annotated[list[str], typer.Option(help="NAME=FOVS, e.g. control=0-3,7.")],
        merge_into: Annotated[
            str | None, typer.Option(help="Merge into this folder right away.")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Save the samples (checked against the FOVs that have traces)."""
        session = Session(ctx, as_json)
        body = {
            "sample_yaml": server_path(samples),
            "samples": parse_samples(sample),
            "input_dir": server_path(input_dir),
            "merge_output_dir": server_path(merge_into) if merge_into else None,
        }
        data = session.client.call("POST", "/api/processing/samples", json=body)
        session.emit(data, lambda d: _samples_table(session, d))

    @app.command(epilog="Example: micrographia fitted JOB_A JOB_B --min-r2 0.9 --csv fitted.csv")
    def fitted(
        ctx: typer.Context,
        jobs: Annotated[list[str], typer.Argument(help="Completed fitting jobs, one per sample.")],
        min_r2: Annotated[float | None, typer.Option(min=0, max=1, help="r² at least.")] = None,
        good_only: Annotated[bool, typer.Option(help="Only cells flagged good.")] = False,
        sort: Annotated[str, typer.Option(help="A column or a parameter.")] = "",
        descending: Annotated[bool, typer.Option("--desc", help="Largest first.")] = False,
        limit: Annotated[int, typer.Option(min=1, max=10000, help="Rows to show.")] = 100,
        csv: Annotated[
            Path | None, typer.Option(help="Write the whole filtered table to this CSV.")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """The fitted cells of fitting jobs: parameters, r², status, sample."""
        session = Session(ctx, as_json)
        params: dict[str, Any] = {"job_ids": jobs, "good_only": good_only}
        if min_r2 is not None:
            params["min_r_squared"] = min_r2
        if csv is not None:
            session.client.download("/api/analysis/fitting/cells.csv", csv, params=params)
        data = session.client.call(
            "GET",
            "/api/analysis/fitting/cells",
            params={**params, "sort_by": sort, "descending": descending, "limit": limit},
        )

        def render(d: dict[str, Any]) -> None:
            names = d.get("parameter_names") or []
            table = Table(title=f"{d.get('total_cells')} fitted cells ({d.get('model_type')})")
            for column in ("sample", "fov", "cell", "ok", "r²", "good", *names):
                table.add_column(column, justify="right")
            for row in d.get("cells") or []:
                values = row.get("parameters") or {}
                table.add_row(
                    row.get("sample", ""),
                    str(row.get("fov", 0)),
                    str(row.get("cell", 0)),
                    "yes" if row.get("success") else "no",
                    f"{row.get('r_squared', 0):.3f}",
                    "yes" if row.get("good") else "no",
                    *(f"{values.get(name) or float('nan'):.4g}" for name in names),
                )
            session.out.print(table)
            if csv is not None:
                session.out.print(f"Wrote {csv}")

        session.emit(data, render)
