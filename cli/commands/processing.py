"""`process` (a workflow from start to results) and `merge` (FOVs into samples)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from cli.errors import UsageError
from cli.jobs import WORKFLOW, follow, require_completed
from cli.session import JsonFlag, Session, server_path

# The MCP form of a processing config names these differently (pyama-api.md).
MCP_NAMES = {"pc": "phase", "fl": "fluorescence"}


def read_config(path: Path | None) -> dict[str, Any]:
    """`channels` and `parameters` from a config YAML (either documented form);
    without one, the phase channel is channel 0."""
    if path is None:
        return {"channels": {"phase": {"channel": 0}}, "parameters": {}}
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the config {path}: {error}", path=str(path)) from None
    if not isinstance(document, dict) or not isinstance(document.get("channels"), dict):
        raise UsageError(f"the config {path} needs a `channels` mapping", path=str(path))
    channels = {MCP_NAMES.get(key, key): value for key, value in document["channels"].items()}
    parameters = document.get("parameters", document.get("params")) or {}
    if not isinstance(parameters, dict):
        raise UsageError(f"`parameters` in {path} must be a mapping", path=str(path))
    return {"channels": channels, "parameters": dict(parameters)}


def _results_table(results: dict[str, Any]) -> Table:
    stats = results.get("stats") or {}
    table = Table(title=f"Results in {results.get('output_dir')}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("cells", str(stats.get("total_cells", "")))
    table.add_row("frames", str(stats.get("total_frames", "")))
    table.add_row("time", f"{stats.get('processing_time', 0):.1f} s")
    table.add_row("config", str(results.get("config_file") or ""))
    for trace in results.get("traces") or []:
        table.add_row("traces", trace)
    return table


def register(app: typer.Typer) -> None:
    @app.command(
        epilog="Example: micrographia process /data/exp.nd2 --out /data/exp_output "
        "--config config.yaml --fovs 0-9 --workers 4 [--segmentation cellpose --diameter 25]"
    )
    def process(
        ctx: typer.Context,
        file: Annotated[str, typer.Argument(help="Microscopy file to process.")],
        out: Annotated[str, typer.Option("--out", help="Output folder (in the data roots).")],
        config: Annotated[
            Path | None,
            typer.Option(
                exists=True,
                dir_okay=False,
                help="YAML with `channels` (phase, fluorescence) and `parameters`, "
                "as in POST /api/processing/workflow/start.",
            ),
        ] = None,
        fovs: Annotated[
            str | None, typer.Option(help='FOVs as ranges, e.g. "0-9" or "0-5,8".')
        ] = None,
        workers: Annotated[int | None, typer.Option(min=1, help="Parallel FOV workers.")] = None,
        segmentation: Annotated[
            str | None,
            typer.Option(
                help='Segmentation method, "logstd" or "cellpose" (its options, e.g. '
                "diameter, go under parameters.cellpose in --config)."
            ),
        ] = None,
        diameter: Annotated[
            float | None,
            typer.Option(min=0, help="Cellpose: typical cell diameter in pixels (0: 30)."),
        ] = None,
        wait: Annotated[
            bool, typer.Option(help="Follow the progress, then print the results.")
        ] = True,
        as_json: JsonFlag = False,
    ) -> None:
        """Segment, track and measure every cell of a movie.

        Shows a live progress bar (FOV, step, ETA) and then the results; Ctrl-C asks
        whether to cancel the job. With --no-wait, prints the job id and returns.
        """
        session = Session(ctx, as_json)
        body = {"microscopy_path": server_path(file), "output_dir": server_path(out)}
        body |= read_config(config)
        if fovs is not None:
            body["parameters"]["positions"] = fovs
        if workers is not None:
            body["parameters"]["n_workers"] = workers
        if segmentation is not None:
            body["parameters"]["segmentation_method"] = segmentation
        if diameter is not None:
            body["parameters"].setdefault("cellpose", {})["diameter"] = diameter
        started = session.client.call("POST", "/api/processing/workflow/start", json=body)
        job_id = started["job_id"]
        if not wait:
            session.emit(started, lambda d: session.out.print(f"Started workflow job {job_id}"))
            return
        status = follow(session, WORKFLOW, job_id)
        require_completed(WORKFLOW, status)
        results = WORKFLOW.results(session, job_id)
        session.emit(results, lambda d: session.out.print(_results_table(d)))

    @app.command(
        epilog="Example: micrographia merge samples.yaml --in /data/exp_output --out /data/merged"
    )
    def merge(
        ctx: typer.Context,
        samples: Annotated[
            str, typer.Argument(help='samples.yaml: samples: [{name: control, fovs: "0-5"}].')
        ],
        input_dir: Annotated[str, typer.Option("--in", help="The workflow's output folder.")],
        output_dir: Annotated[str, typer.Option("--out", help="Folder for the merged CSVs.")],
        as_json: JsonFlag = False,
    ) -> None:
        """Merge the FOVs' traces into one CSV per sample."""
        session = Session(ctx, as_json)
        body = {
            "sample_yaml": server_path(samples),
            "input_dir": server_path(input_dir),
            "output_dir": server_path(output_dir),
        }
        data = session.client.call("POST", "/api/processing/merge", json=body)

        def render(d: dict[str, Any]) -> None:
            table = Table(title=f"Merged into {d.get('output_dir')}")
            table.add_column("file", overflow="fold")
            for path in d.get("merged_files") or []:
                table.add_row(path)
            session.out.print(table)
            stats = d.get("stats") or {}
            session.out.print(
                f"{stats.get('samples_processed', 0)} samples, "
                f"{stats.get('total_cells', 0)} cells, {stats.get('files_created', 0)} files"
            )

        session.emit(data, render)
