"""`analyze` (HoVerNet on a region or the whole slide, live progress), `roi-stats`,
`boxes ls|show|rm`, `export-geojson`: /api/inference, /api/slide-analysis, /api/roi
and /api/boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.errors import CliError, UsageError
from cli.jobs import SLIDE_ANALYSIS, follow, require_completed
from cli.session import JsonFlag, Session

boxes_app = typer.Typer(
    help="Analysis boxes (one per `analyze` run): list, show, delete.",
    epilog="Example: micrographia boxes ls 0b6f...9c",
)

SlideId = Annotated[str, typer.Argument(help="The slide's id (see `micrographia slides ls`).")]
BoxId = Annotated[str, typer.Argument(help="The analysis box's id (see `boxes ls`).")]
BoxOption = Annotated[
    str, typer.Option("--box", help="x,y,width,height in level-0 pixels, e.g. 0,0,1024,1024.")
]


def parse_box(text: str) -> tuple[float, float, float, float]:
    """'x,y,w,h' -> numbers; UsageError naming what is wrong."""
    parts = [part.strip() for part in text.split(",")]
    try:
        x, y, width, height = (float(part) for part in parts)
    except ValueError:
        raise UsageError(
            f"--box {text!r} must be four numbers x,y,width,height", option="--box"
        ) from None
    if width <= 0 or height <= 0:
        raise UsageError(f"--box {text!r}: width and height must be positive", option="--box")
    return x, y, width, height


def _box_summary(session: Session, box: dict[str, Any]) -> None:
    table = Table(title=f"Box {box.get('id')} ({box.get('label') or ''})", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    x_range = f"x {box.get('x_min'):g}-{box.get('x_max'):g}"
    table.add_row("region (level 0)", f"{x_range}, y {box.get('y_min'):g}-{box.get('y_max'):g}")
    table.add_row("nuclei", str(box.get("total_nuclei")))
    table.add_row("area", f"{box.get('area_mm2', 0):.4f} mm²")
    table.add_row("density", f"{box.get('density_per_mm2', 0):.1f} / mm²")
    table.add_row("neoplastic ratio", f"{box.get('neoplastic_ratio', 0):.3f}")
    for key in ("shannon_h", "inflammatory_index", "immune_tumour_ratio", "viability"):
        if key in box:
            value = box[key]
            table.add_row(key, "n/a" if value is None else f"{value:.3f}")
    session.out.print(table)
    session.out.print(_type_table(_breakdown(box)))


def _breakdown(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Cell types as rows, from either documented shape (list or mapping by type)."""
    if stats.get("cell_type_breakdown"):
        return stats["cell_type_breakdown"]
    counts = stats.get("cell_type_counts") or {}
    return [
        {"cell_type": int(key), "cell_type_name": value["name"], "count": value["count"]}
        for key, value in sorted(counts.items(), key=lambda item: int(item[0]))
    ]


def _type_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Cell types")
    for column in ("type", "name", "count", "fraction"):
        table.add_column(column, justify="left" if column == "name" else "right")
    total = sum(row.get("count", 0) for row in rows) or 1
    for row in rows:
        fraction = row.get("fraction", row.get("count", 0) / total)
        table.add_row(
            str(row.get("cell_type")),
            row.get("cell_type_name") or "",
            str(row.get("count", 0)),
            f"{fraction:.3f}",
        )
    return table


@boxes_app.command("ls", epilog="Example: micrographia boxes ls 0b6f...9c")
def list_boxes(ctx: typer.Context, slide_id: SlideId, as_json: JsonFlag = False) -> None:
    """A slide's analysis boxes, newest first."""
    session = Session(ctx, as_json)
    data = session.client.call("GET", f"/api/boxes/{slide_id}")

    def render(d: dict[str, Any]) -> None:
        table = Table(title=f"{len(d['boxes'])} boxes on slide {slide_id}")
        for column in ("id", "label", "x,y,w,h", "nuclei", "density /mm²", "created_at"):
            table.add_column(column, overflow="fold")
        for box in d["boxes"]:
            width, height = box["x_max"] - box["x_min"], box["y_max"] - box["y_min"]
            table.add_row(
                box["id"],
                box.get("label") or "",
                f"{box['x_min']:g},{box['y_min']:g},{width:g},{height:g}",
                str(box.get("total_nuclei")),
                f"{box.get('density_per_mm2', 0):.1f}",
                box.get("created_at") or "",
            )
        session.out.print(table)

    session.emit(data, render)


@boxes_app.command(epilog="Example: micrographia boxes show 7d1e...42")
def show(ctx: typer.Context, box_id: BoxId, as_json: JsonFlag = False) -> None:
    """One box: its counts, cell types and derived clinical metrics."""
    session = Session(ctx, as_json)
    data = session.client.call("GET", f"/api/boxes/detail/{box_id}")
    session.emit(data, lambda d: _box_summary(session, d))


@boxes_app.command("rm", epilog="Example: micrographia boxes rm 7d1e...42")
def remove(ctx: typer.Context, box_id: BoxId, as_json: JsonFlag = False) -> None:
    """Delete a box and its nuclei."""
    session = Session(ctx, as_json)
    session.client.call("DELETE", f"/api/boxes/{box_id}")
    session.emit({"deleted": box_id}, lambda d: session.out.print(f"Deleted box {box_id}"))


def _analyze_whole_slide(
    session: Session, slide_id: str, label: str, region_size: int, wait: bool
) -> None:
    body = {"slide_id": slide_id, "label": label, "region_size": region_size}
    started = session.client.call("POST", "/api/slide-analysis/start", json=body)
    if not wait:
        session.emit(started, lambda d: session.out.print(f"Job {d['job_id']}: {d['message']}"))
        return
    session.err.print(started["message"], highlight=False)
    require_completed(SLIDE_ANALYSIS, follow(session, SLIDE_ANALYSIS, started["job_id"]))
    detail = session.client.call("GET", f"/api/boxes/detail/{started['box_id']}")
    result = {"box": detail, "count": detail["total_nuclei"], "job_id": started["job_id"]}
    session.emit(result, lambda d: _box_summary(session, d["box"]))


def register(app: typer.Typer) -> None:
    app.add_typer(boxes_app, name="boxes")

    @app.command(epilog="Example: micrographia analyze 0b6f...9c --box 10240,8192,2048,2048")
    def analyze(
        ctx: typer.Context,
        slide_id: SlideId,
        box: Annotated[
            str | None,
            typer.Option(
                "--box",
                help="x,y,width,height in level-0 pixels; without it, the whole slide's tissue.",
            ),
        ] = None,
        level: Annotated[int, typer.Option(min=0, help="Slide level to read.")] = 0,
        label: Annotated[str, typer.Option(help="Whole slide: the box's label.")] = "",
        region_size: Annotated[
            int, typer.Option(min=0, help="Whole slide: region edge in level-0 px (0: default).")
        ] = 0,
        wait: Annotated[
            bool, typer.Option(help="Whole slide: follow the job, then print the box.")
        ] = True,
        as_json: JsonFlag = False,
    ) -> None:
        """Segment and classify the nuclei (HoVerNet) in a region, or without --box in
        the whole slide's tissue (a job over every inference replica, stored region by
        region), then the box's statistics.

        A progress bar follows the analysis; the result is stored as an analysis box.
        Ctrl-C on a whole-slide job asks whether to cancel it (stored regions stay).
        """
        session = Session(ctx, as_json)
        if box is None:
            _analyze_whole_slide(session, slide_id, label, region_size, wait)
            return
        x, y, width, height = parse_box(box)
        body = {
            "slide_id": slide_id,
            "x": x,
            "y": y,
            "width": width,
            "height": height,
            "level": level,
        }
        columns = (
            TextColumn("[bold]analyze"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[message]}"),
            TimeElapsedColumn(),
        )
        progress = Progress(*columns, console=session.err, disable=not session.err.is_terminal)
        complete: dict[str, Any] | None = None
        with progress:
            bar = progress.add_task("analyze", total=None, message="starting")
            events = session.client.events("POST", "/api/inference/viewport-stream", json=body)
            for name, data in events:
                if name == "progress":
                    progress.update(
                        bar,
                        completed=data.get("current", 0),
                        total=data.get("total") or None,
                        message=data.get("message") or "",
                    )
                elif name == "complete":
                    complete = data
        if complete is None:
            raise CliError("STREAM_ENDED", "the analysis stream ended without a result")
        result = {"box": complete["box"], "count": complete.get("count")}
        session.emit(result, lambda d: _box_summary(session, d["box"]))

    @app.command(
        "roi-stats", epilog="Example: micrographia roi-stats 0b6f...9c --box 5000,5000,5000,5000"
    )
    def roi_stats(
        ctx: typer.Context, slide_id: SlideId, box: BoxOption, as_json: JsonFlag = False
    ) -> None:
        """Spatial statistics of the stored nuclei in a rectangle (no inference)."""
        session = Session(ctx, as_json)
        x, y, width, height = parse_box(box)
        body = {
            "slide_id": slide_id,
            "x_min": x,
            "y_min": y,
            "x_max": x + width,
            "y_max": y + height,
        }
        data = session.client.call("POST", "/api/roi/stats", json=body)

        def render(d: dict[str, Any]) -> None:
            session.out.print(
                f"{d.get('total_nuclei')} nuclei in {d.get('area_mm2', 0):.4f} mm² "
                f"({d.get('density_per_mm2', 0):.1f} / mm²), neoplastic ratio "
                f"{d.get('neoplastic_ratio', 0):.3f}"
            )
            session.out.print(_type_table(_breakdown(d)))

        session.emit(data, render)

    @app.command(
        "export-geojson", epilog="Example: micrographia export-geojson 7d1e...42 -o nuclei.geojson"
    )
    def export_geojson(
        ctx: typer.Context,
        box_id: BoxId,
        output: Annotated[Path, typer.Option("--output", "-o", help="GeoJSON file to write.")],
        as_json: JsonFlag = False,
    ) -> None:
        """A box's nuclei as QuPath detections (GeoJSON), streamed to a file."""
        session = Session(ctx, as_json)
        session.client.download(f"/api/boxes/{box_id}/geojson", output)
        data = {"output": str(output.resolve()), "size_bytes": output.stat().st_size}
        session.emit(data, lambda d: session.out.print(f"Wrote {d['output']}"))
