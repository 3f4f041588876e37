"""`slides ls|upload|rm|info`: whole-slide images through /api/slides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from cli.session import JsonFlag, Session

slides_app = typer.Typer(
    help="Whole-slide images: list, upload, inspect, delete.",
    epilog="Example: micrographia slides upload biopsy.svs",
)

SlideId = Annotated[str, typer.Argument(help="The slide's id (see `micrographia slides ls`).")]


def slide_table(slides: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("id", "filename", "width x height", "mpp", "created_at"):
        table.add_column(column, overflow="fold")
    for slide in slides:
        mpp = slide.get("mpp")
        table.add_row(
            slide["id"],
            slide.get("filename") or "",
            f"{slide.get('width_px')} x {slide.get('height_px')}",
            (f"{mpp:.4f}" + (" (assumed)" if slide.get("mpp_assumed") else "")) if mpp else "",
            slide.get("created_at") or "",
        )
    return table


@slides_app.command("ls", epilog="Example: micrographia slides ls --json")
def list_slides(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """All slides, newest first."""
    session = Session(ctx, as_json)
    data = session.client.call("GET", "/api/slides/")
    session.emit(data, lambda d: session.out.print(slide_table(d, f"{len(d)} slides")))


@slides_app.command(epilog="Example: micrographia slides upload biopsy.svs")
def upload(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The slide file."),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Upload a slide (SVS, NDPI, MRXS, tiled TIFF, ...) and print it as stored.

    The file is streamed from disk, with a byte progress bar.
    """
    session = Session(ctx, as_json)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=session.err, disable=not session.err.is_terminal)
    with progress:
        bar = progress.add_task(file.name, total=file.stat().st_size)
        slide = session.client.upload(
            "/api/slides/upload", file, lambda n: progress.advance(bar, n)
        )
    session.emit(slide, lambda d: session.out.print(slide_table([d], "Uploaded")))


@slides_app.command(epilog="Example: micrographia slides info 0b6f...9c")
def info(ctx: typer.Context, slide_id: SlideId, as_json: JsonFlag = False) -> None:
    """One slide: size, resolution, when it was uploaded."""
    session = Session(ctx, as_json)
    data = session.client.call("GET", f"/api/slides/{slide_id}")
    session.emit(data, lambda d: session.out.print(slide_table([d], d.get("filename", ""))))


@slides_app.command("rm", epilog="Example: micrographia slides rm 0b6f...9c")
def remove(ctx: typer.Context, slide_id: SlideId, as_json: JsonFlag = False) -> None:
    """Delete a slide with its caches and analyses."""
    session = Session(ctx, as_json)
    session.client.call("DELETE", f"/api/slides/{slide_id}")
    data = {"deleted": slide_id}
    session.emit(data, lambda d: session.out.print(f"Deleted slide {slide_id}"))


def register(app: typer.Typer) -> None:
    app.add_typer(slides_app, name="slides")
