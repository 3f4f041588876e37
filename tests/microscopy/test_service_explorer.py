"""The file explorer through the real edge: list-directory and search-files with
every documented option, on a tree written here with known names, sizes and times."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from micrographia.microscopy.v1 import microscopy_pb2 as pb
from tests.microscopy.edge_api import error_of, microscopy_stub, post

# name -> (size in bytes, modification time in seconds since the epoch)
FILES = {
    "b_run.nd2": (300, 1_700_000_300),
    "A_run.CZI": (100, 1_700_000_200),
    "c_notes.txt": (200, 1_700_000_100),
    "d_cells.ome.tif": (400, 1_700_000_400),
    ".hidden.nd2": (50, 1_700_000_500),
}


@pytest.fixture(scope="module")
def tree(data_root: Path) -> Path:
    """A folder with FILES, a subfolder and a hidden folder, nested three levels deep."""
    root = data_root / "explorer"
    for name, (size, mtime) in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x" * size)
        os.utime(root / name, (mtime, mtime))
    for relative in ["sub/one.nd2", "sub/deeper/two.ND2", "sub/deeper/three.czi", ".git/x.nd2"]:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(b"x")
    os.utime(root / "sub", (1_700_000_000, 1_700_000_000))
    return root


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def test_list_directory_shape_and_defaults(edge, tree: Path) -> None:
    data = post(edge, "list-directory", directory_path=str(tree))
    assert data["directory_path"] == str(tree)
    assert names(data["items"]) == [
        "A_run.CZI",
        "b_run.nd2",
        "c_notes.txt",
        "d_cells.ome.tif",
        "sub",
    ]
    assert (data["total_items"], data["filtered_items"]) == (5, 5)
    nd2 = data["items"][1]
    assert nd2 == {
        "name": "b_run.nd2",
        "path": str(tree / "b_run.nd2"),
        "is_directory": False,
        "is_file": True,
        "size_bytes": 300,
        "modified_time": "2023-11-14T22:18:20Z",
        "extension": ".nd2",
        "is_microscopy_file": True,
    }
    folder = data["items"][-1]
    assert folder["is_directory"] is True and folder["is_file"] is False
    assert folder["size_bytes"] is None and folder["extension"] is None
    assert folder["is_microscopy_file"] is False
    assert data["items"][0]["extension"] == ".czi"
    assert data["items"][3]["extension"] == ".ome.tif"


def test_list_directory_hidden_and_extension_filter(edge, tree: Path) -> None:
    hidden = post(edge, "list-directory", directory_path=str(tree), include_hidden=True)
    assert {".hidden.nd2", ".git"} <= set(names(hidden["items"]))
    assert hidden["total_items"] == 7

    filtered = post(
        edge, "list-directory", directory_path=str(tree), filter_extensions=[".nd2", "czi"]
    )
    # Folders are kept whatever the filter; extensions match case-insensitively.
    assert names(filtered["items"]) == ["A_run.CZI", "b_run.nd2", "sub"]
    assert (filtered["total_items"], filtered["filtered_items"]) == (5, 3)


@pytest.mark.parametrize(
    ("sort_by", "ascending"),
    [
        ("name", ["A_run.CZI", "b_run.nd2", "c_notes.txt", "d_cells.ome.tif", "sub"]),
        ("size", ["sub", "A_run.CZI", "c_notes.txt", "b_run.nd2", "d_cells.ome.tif"]),
        ("modified_time", ["sub", "c_notes.txt", "A_run.CZI", "b_run.nd2", "d_cells.ome.tif"]),
    ],
)
def test_list_directory_sorts_both_ways(edge, tree: Path, sort_by: str, ascending: list) -> None:
    for order, expected in [("asc", ascending), ("desc", ascending[::-1])]:
        data = post(
            edge, "list-directory", directory_path=str(tree), sort_by=sort_by, sort_order=order
        )
        assert names(data["items"]) == expected, (sort_by, order)


def test_list_directory_bad_requests(edge, tree: Path) -> None:
    bad_sort = edge.post(
        "/api/processing/list-directory", json={"directory_path": str(tree), "sort_by": "colour"}
    )
    assert "sort_by" in error_of(bad_sort, 400, "INVALID_PARAMETERS")["error"]
    a_file = edge.post(
        "/api/processing/list-directory", json={"directory_path": str(tree / "b_run.nd2")}
    )
    assert "not a folder" in error_of(a_file, 400, "INVALID_PARAMETERS")["error"]
    missing = edge.post(
        "/api/processing/list-directory", json={"directory_path": str(tree / "nope")}
    )
    error_of(missing, 404, "FILE_NOT_FOUND")


def test_grpc_unspecified_sort_means_name_ascending(platform, tree: Path) -> None:
    with microscopy_stub(platform.address("microscopy")) as stub:
        response = stub.ListDirectory(pb.ListDirectoryRequest(directory_path=str(tree)))
    assert [item.name for item in response.items][:2] == ["A_run.CZI", "b_run.nd2"]


# ---------------------------------------------------------------- search


def search(edge, tree: Path, **options) -> dict:
    return post(edge, "search-files", search_path=str(tree), **options)


def relative(data: dict, tree: Path) -> list[str]:
    return [str(Path(item["path"]).relative_to(tree)) for item in data["files"]]


def test_search_files_shape(edge, tree: Path) -> None:
    data = search(edge, tree, pattern="**/*.nd2")
    assert set(data) >= {"search_path", "files", "total_found", "search_time"}
    assert data["search_path"] == str(tree)
    assert relative(data, tree) == ["b_run.nd2", "sub/deeper/two.ND2", "sub/one.nd2"]
    assert data["total_found"] == 3 and data["truncated"] is False
    assert isinstance(data["search_time"], float) and 0 <= data["search_time"] < 5
    first = data["files"][0]
    assert {"name", "path", "size_bytes", "modified_time"} <= first.keys()
    assert (first["name"], first["size_bytes"]) == ("b_run.nd2", 300)


def test_search_files_options(edge, tree: Path) -> None:
    assert relative(search(edge, tree, pattern="**/*.nd2", case_sensitive=True), tree) == [
        "b_run.nd2",
        "sub/one.nd2",
    ]
    # No slash: file names at any depth (users type "*.nd2", not "**/*.nd2").
    assert relative(search(edge, tree, pattern="*.nd2"), tree) == [
        "b_run.nd2",
        "sub/deeper/two.ND2",
        "sub/one.nd2",
    ]
    assert relative(search(edge, tree, pattern="sub/*.nd2"), tree) == ["sub/one.nd2"]
    assert relative(search(edge, tree, extensions=[".czi"]), tree) == [
        "A_run.CZI",
        "sub/deeper/three.czi",
    ]
    assert relative(search(edge, tree, extensions=[".nd2"], max_depth=1), tree) == [
        "b_run.nd2",
        "sub/one.nd2",
    ]
    assert relative(search(edge, tree, extensions=[".nd2"], max_depth=0), tree) == ["b_run.nd2"]
    with_hidden = relative(search(edge, tree, extensions=[".nd2"], include_hidden=True), tree)
    assert {".hidden.nd2", ".git/x.nd2"} <= set(with_hidden)
    limited = search(edge, tree, limit=2)
    assert limited["total_found"] == 2 and limited["truncated"] is True


def test_search_files_bad_requests(edge, tree: Path) -> None:
    for body in [
        {"search_path": str(tree), "pattern": "../*"},
        {"search_path": str(tree), "pattern": "/etc/*"},
        {"search_path": str(tree), "max_depth": -1},
        {"search_path": str(tree / "b_run.nd2")},
    ]:
        error_of(edge.post("/api/processing/search-files", json=body), 400, "INVALID_PARAMETERS")
    outside = edge.post("/api/processing/search-files", json={"search_path": "/etc"})
    error_of(outside, 403, "FORBIDDEN")
