"""`files ls|search|info`, `metadata`, `frame`: microscopy files through /api/processing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.session import JsonFlag, Session, server_path

files_app = typer.Typer(
    help="Browse the data roots: list, search, inspect files.",
    epilog="Example: micrographia files search /data --pattern '**/*.nd2' --json",
)

ExtOption = Annotated[
    list[str] | None,
    typer.Option("--ext", help="Only these extensions (repeat: --ext .nd2 --ext .czi)."),
]


def _size(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _file_table(items: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    table.add_column("name")
    table.add_column("size", justify="right")
    table.add_column("modified")
    table.add_column("path", overflow="fold")
    for item in items:
        name = item["name"] + ("/" if item.get("is_directory") else "")
        style = "bold green" if item.get("is_microscopy_file") else None
        table.add_row(
            name,
            _size(item.get("size_bytes")),
            item.get("modified_time") or "",
            item["path"],
            style=style,
        )
    return table


def _metadata_table(metadata: dict[str, Any], title: str) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in metadata.items():
        if key == "time_points" and isinstance(value, list) and len(value) > 6:
            value = f"{value[:3]} ... {value[-1]} ({len(value)} points)"
        table.add_row(key, "" if value is None else str(value))
    return table


@files_app.command("ls", epilog="Example: micrographia files ls /data/experiments --ext .nd2")
def list_directory(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="Folder inside the data roots.")],
    ext: ExtOption = None,
    hidden: Annotated[bool, typer.Option(help="Include hidden entries.")] = False,
    sort: Annotated[str, typer.Option(help="name, size or modified_time.")] = "name",
    desc: Annotated[bool, typer.Option("--desc", help="Sort descending.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List a folder; microscopy files are shown in green."""
    session = Session(ctx, as_json)
    body = {
        "directory_path": server_path(directory),
        "include_hidden": hidden,
        "filter_extensions": ext,
        "sort_by": sort,
        "sort_order": "desc" if desc else "asc",
    }
    data = session.client.call("POST", "/api/processing/list-directory", json=body)
    session.emit(data, lambda d: session.out.print(_file_table(d["items"], d["directory_path"])))


@files_app.command(epilog="Example: micrographia files search /data --pattern '**/*.nd2'")
def search(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="Folder to search under.")],
    pattern: Annotated[str, typer.Option(help="Glob over relative paths.")] = "**/*",
    ext: ExtOption = None,
    max_depth: Annotated[int | None, typer.Option(help="Folders deep at most.")] = None,
    limit: Annotated[int, typer.Option(help="Stop after this many matches (0: 10000).")] = 0,
    hidden: Annotated[bool, typer.Option(help="Include hidden entries.")] = False,
    case_sensitive: Annotated[bool, typer.Option(help="Match case exactly.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Search a folder tree for files matching a pattern."""
    session = Session(ctx, as_json)
    body = {
        "search_path": server_path(directory),
        "pattern": pattern,
        "extensions": ext,
        "max_depth": max_depth,
        "include_hidden": hidden,
        "case_sensitive": case_sensitive,
        "limit": limit,
    }
    data = session.client.call("POST", "/api/processing/search-files", json=body)
    title = f"{data['total_found']} found under {data['search_path']}"
    session.emit(data, lambda d: session.out.print(_file_table(d["files"], title)))


@files_app.command(epilog="Example: micrographia files info /data/experiment.nd2")
def info(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A file inside the data roots.")],
    as_json: JsonFlag = False,
) -> None:
    """One file's facts and, for a microscopy file, its metadata preview."""
    session = Session(ctx, as_json)
    data = session.client.call(
        "POST", "/api/processing/file-info", json={"file_path": server_path(file)}
    )

    def render(d: dict[str, Any]) -> None:
        session.out.print(_file_table([{**d["file_info"], **d}], d["file_info"]["name"]))
        if d.get("metadata_preview"):
            session.out.print(_metadata_table(d["metadata_preview"], "metadata"))
        elif d.get("metadata_error"):
            session.err.print(f"[yellow]metadata unreadable:[/] {d['metadata_error']}")

    session.emit(data, render)


def register(app: typer.Typer) -> None:
    app.add_typer(files_app, name="files")

    @app.command(epilog="Example: micrographia metadata /data/experiment.nd2 --json")
    def metadata(
        ctx: typer.Context,
        file: Annotated[str, typer.Argument(help="ND2, CZI or (OME-)TIFF file.")],
        as_json: JsonFlag = False,
    ) -> None:
        """A microscopy file's metadata: FOVs, frames, channels, pixel size, shape."""
        session = Session(ctx, as_json)
        data = session.client.call(
            "POST", "/api/processing/load-metadata", json={"file_path": server_path(file)}
        )
        session.emit(data, lambda d: session.out.print(_metadata_table(d, Path(file).name)))

    @app.command(
        epilog="Example: micrographia frame /data/experiment.nd2 --fov 3 --t 10 -o frame.png"
    )
    def frame(
        ctx: typer.Context,
        file: Annotated[str, typer.Argument(help="Microscopy file.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="PNG to write.")],
        fov: Annotated[int, typer.Option(min=0, help="Field of view (0-based).")] = 0,
        t: Annotated[int, typer.Option(min=0, help="Time point (0-based).")] = 0,
        channel: Annotated[int, typer.Option(min=0, help="Channel (0-based).")] = 0,
        z: Annotated[int, typer.Option(min=0, help="Z-plane (0-based).")] = 0,
        max_size: Annotated[
            int, typer.Option(min=0, help="Longest edge in pixels (0: full size).")
        ] = 0,
        as_json: JsonFlag = False,
    ) -> None:
        """Save one frame as a contrast-stretched PNG."""
        session = Session(ctx, as_json)
        params = {
            "file_path": server_path(file),
            "fov": fov,
            "t": t,
            "channel": channel,
            "z": z,
            "max_size": max_size,
        }
        headers = session.client.download("/api/processing/frame", output, params=params)
        data = {
            "output": str(output.resolve()),
            "size_bytes": output.stat().st_size,
            "display_min": float(headers.get("X-Display-Min", "nan")),
            "display_max": float(headers.get("X-Display-Max", "nan")),
        }
        session.emit(
            data,
            lambda d: session.out.print(
                f"Wrote {d['output']} ({_size(d['size_bytes'])}; "
                f"black {d['display_min']:g}, white {d['display_max']:g})"
            ),
        )
