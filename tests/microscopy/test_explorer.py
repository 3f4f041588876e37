"""The file explorer: facts, listings and search inside the roots, never beyond."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.errors import FORBIDDEN, InvalidArgument, NotFound, PermissionDenied
from services.microscopy.core.explorer import FileExplorer
from services.microscopy.core.paths import DataRoots
from services.microscopy.core.readers import ReaderCache

FILES = {
    "exp/a.nd2": 300,
    "exp/B.CZI": 100,
    "exp/c.ome.tif": 200,
    "exp/notes.txt": 10,
    "exp/.hidden.nd2": 5,
    "exp/.hiddendir/x.nd2": 5,
    "exp/sub/deep/d.tiff": 50,
    "exp/sub/e.nd2": 60,
    "top.tif": 1,
}


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    for relative, size in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
    outside.mkdir()
    (outside / "secret.nd2").write_bytes(b"secret")
    (root / "exp" / "link_out.nd2").symlink_to(outside / "secret.nd2")
    (root / "exp" / "link_out_dir").symlink_to(outside)
    (root / "exp" / "link_in.nd2").symlink_to(root / "exp" / "a.nd2")
    (root / "exp" / "dangling.nd2").symlink_to(root / "exp" / "gone.nd2")
    (root / "exp" / "loop").symlink_to(root / "exp")  # a cycle, if followed
    # Known modification times: a oldest, c newest.
    for i, name in enumerate(["a.nd2", "B.CZI", "c.ome.tif", "notes.txt"]):
        os.utime(root / "exp" / name, (1_700_000_000 + i * 60,) * 2)
    return {"root": root, "outside": outside}


@pytest.fixture
def explorer(tree) -> FileExplorer:
    return FileExplorer(DataRoots([tree["root"]]))


def names(entries) -> list[str]:
    return [e.name for e in entries]


def test_file_entry_of_a_file(explorer: FileExplorer, tree) -> None:
    entry = explorer.file_entry("exp/c.ome.tif")
    assert entry.name == "c.ome.tif"
    assert entry.path == str(tree["root"] / "exp" / "c.ome.tif")
    assert (entry.is_file, entry.is_directory, entry.size_bytes) == (True, False, 200)
    assert entry.extension == ".ome.tif" and entry.is_microscopy_file
    assert entry.modified_time == datetime.fromtimestamp(1_700_000_120, tz=UTC)
    upper = explorer.file_entry("exp/B.CZI")
    assert upper.extension == ".czi" and upper.is_microscopy_file
    text = explorer.file_entry("exp/notes.txt")
    assert text.extension == ".txt" and not text.is_microscopy_file


def test_file_entry_of_a_folder(explorer: FileExplorer) -> None:
    entry = explorer.file_entry("exp/sub")
    assert (entry.is_directory, entry.is_file, entry.size_bytes, entry.extension) == (
        True, False, None, None,
    )  # fmt: skip
    assert not entry.is_microscopy_file
    assert entry.modified_time.tzinfo is UTC


def test_listing_hides_what_it_must(explorer: FileExplorer, tree) -> None:
    listing = explorer.list_directory("exp")
    assert listing.directory_path == str(tree["root"] / "exp")
    # Out-of-root and dangling symlinks vanish; the in-root link and the loop link stay.
    assert names(listing.items) == [
        "a.nd2", "B.CZI", "c.ome.tif", "link_in.nd2", "loop", "notes.txt", "sub",
    ]  # fmt: skip
    assert listing.total_items == listing.filtered_items == 7
    for item in listing.items:
        assert Path(os.path.realpath(item.path)).is_relative_to(tree["root"])
    hidden = explorer.list_directory("exp", include_hidden=True)
    assert {".hidden.nd2", ".hiddendir"} <= set(names(hidden.items))
    assert "link_out.nd2" not in names(hidden.items)


def test_extension_filter_keeps_folders(explorer: FileExplorer) -> None:
    listing = explorer.list_directory("exp", filter_extensions=["nd2", ".TIF"])
    assert names(listing.items) == ["a.nd2", "c.ome.tif", "link_in.nd2", "loop", "sub"]
    assert (listing.total_items, listing.filtered_items) == (7, 5)


def test_sorting(explorer: FileExplorer) -> None:
    files = ["a.nd2", "B.CZI", "c.ome.tif", "notes.txt"]
    by_size = explorer.list_directory("exp", sort_by="size")
    assert [e.name for e in by_size.items if e.name in files] == [
        "notes.txt", "B.CZI", "c.ome.tif", "a.nd2",
    ]  # fmt: skip
    assert by_size.items[0].is_directory  # folders count as 0
    newest = explorer.list_directory("exp", sort_by="modified_time", sort_order="desc")
    ordered = [e.name for e in newest.items if e.name in files]
    assert ordered == ["notes.txt", "c.ome.tif", "B.CZI", "a.nd2"]
    by_name = explorer.list_directory("exp", sort_order="desc")
    assert names(by_name.items)[:3] == ["sub", "notes.txt", "loop"]


@pytest.mark.parametrize(
    "kwargs", [{"sort_by": "colour"}, {"sort_order": "up"}, {"filter_extensions": ["a/b"]}]
)
def test_bad_listing_requests(explorer: FileExplorer, kwargs) -> None:
    with pytest.raises(InvalidArgument):
        explorer.list_directory("exp", **kwargs)


def test_listing_refuses_files_and_outside_folders(explorer: FileExplorer, tree) -> None:
    with pytest.raises(InvalidArgument, match="not a folder"):
        explorer.list_directory("exp/a.nd2")
    with pytest.raises(PermissionDenied) as info:
        explorer.list_directory(tree["outside"])
    assert info.value.code == FORBIDDEN
    with pytest.raises(PermissionDenied):
        explorer.list_directory("exp/link_out_dir")
    with pytest.raises(NotFound):
        explorer.list_directory("exp/nothing")


def relative_paths(result, root: Path) -> list[str]:
    return [str(Path(f.path).relative_to(root)) for f in result.files]


def test_search_everything_by_default(explorer: FileExplorer, tree) -> None:
    result = explorer.search_files("", pattern="")
    assert relative_paths(result, tree["root"]) == [
        "exp/B.CZI", "exp/a.nd2", "exp/c.ome.tif", "exp/link_in.nd2", "exp/notes.txt",
        "exp/sub/deep/d.tiff", "exp/sub/e.nd2", "top.tif",
    ]  # fmt: skip
    assert result.total_found == 8 and not result.truncated
    assert result.search_path == str(tree["root"])
    assert 0 <= result.search_time_s < 5
    assert all(f.is_file for f in result.files)


def test_search_never_leaves_the_roots(explorer: FileExplorer, tree) -> None:
    result = explorer.search_files("", pattern="**/*", include_hidden=True)
    for f in result.files:
        assert Path(os.path.realpath(f.path)).is_relative_to(tree["root"])
    assert "secret.nd2" not in names(result.files)
    assert "link_out.nd2" not in names(result.files)


def test_search_depth(explorer: FileExplorer, tree) -> None:
    assert names(explorer.search_files("", max_depth=0).files) == ["top.tif"]
    one = explorer.search_files("exp", pattern="**/*.nd2", max_depth=1)
    assert relative_paths(one, tree["root"]) == ["exp/a.nd2", "exp/link_in.nd2", "exp/sub/e.nd2"]


def test_search_hidden(explorer: FileExplorer, tree) -> None:
    hidden = explorer.search_files("exp", pattern="**/*.nd2", include_hidden=True)
    assert {".hidden.nd2", "x.nd2"} <= set(names(hidden.files))
    assert {".hidden.nd2", "x.nd2"}.isdisjoint(names(explorer.search_files("exp").files))


def test_search_case(explorer: FileExplorer) -> None:
    assert names(explorer.search_files("", pattern="**/*.czi").files) == ["B.CZI"]
    assert names(explorer.search_files("", pattern="**/*.czi", case_sensitive=True).files) == []


def test_search_patterns_and_extensions(explorer: FileExplorer) -> None:
    assert names(explorer.search_files("", pattern="exp/*.{nd2,txt}").files) == [
        "a.nd2", "link_in.nd2", "notes.txt",
    ]  # fmt: skip
    # A pattern without a slash matches file names at any depth; with one, whole paths.
    assert names(explorer.search_files("", pattern="*.nd2").files) == [
        "a.nd2", "link_in.nd2", "e.nd2",
    ]  # fmt: skip
    assert names(explorer.search_files("exp", pattern="*.tiff").files) == ["d.tiff"]
    assert len(explorer.search_files("", pattern="*").files) == 8
    assert names(explorer.search_files("", pattern="sub/*.nd2").files) == []
    assert names(explorer.search_files("exp", pattern="sub/*.nd2").files) == ["e.nd2"]
    found = explorer.search_files("", extensions=[".tif", "TIFF"])
    assert names(found.files) == ["c.ome.tif", "d.tiff", "top.tif"]


def test_search_limit(explorer: FileExplorer) -> None:
    result = explorer.search_files("", limit=3)
    assert (result.total_found, result.truncated) == (3, True)
    exact = explorer.search_files("", limit=8)
    assert (exact.total_found, exact.truncated) == (8, False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pattern": "/etc/*"},
        {"pattern": "../outside/*"},
        {"pattern": "exp/../../outside/*"},
        {"pattern": "..\\outside"},
        {"max_depth": -1},
        {"limit": -1},
    ],
)
def test_bad_search_requests(explorer: FileExplorer, kwargs) -> None:
    with pytest.raises(InvalidArgument):
        explorer.search_files("", **kwargs)


def test_search_outside_the_roots(explorer: FileExplorer, tree) -> None:
    with pytest.raises(PermissionDenied):
        explorer.search_files(tree["outside"])
    with pytest.raises(PermissionDenied):
        explorer.search_files("/")


@pytest.mark.parametrize("cached", [False, True])
def test_file_info(shared_data: Path, tmp_path: Path, cached: bool) -> None:
    root = tmp_path / "data"
    shutil.copytree(shared_data / "nd2", root)  # a few MB: small real files
    (root / "broken.czi").write_bytes(b"ZISRAWFILE" + bytes(100))
    (root / "plain.txt").write_text("hi")
    cache = ReaderCache() if cached else None
    explorer = FileExplorer(DataRoots([root]), cache)

    info = explorer.file_info("cluster.nd2")
    assert info.is_microscopy_file and info.metadata_error == ""
    assert info.metadata_preview is not None
    assert (info.metadata_preview.n_frames, info.metadata_preview.n_z) == (3, 10)
    assert info.file_info.size_bytes == (root / "cluster.nd2").stat().st_size

    broken = explorer.file_info("broken.czi")
    assert broken.is_microscopy_file and broken.metadata_preview is None
    assert "broken.czi" in broken.metadata_error

    plain = explorer.file_info("plain.txt")
    assert (plain.is_microscopy_file, plain.metadata_preview, plain.metadata_error) == (
        False, None, "",
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        explorer.file_info(shared_data / "nd2" / "cluster.nd2")
    if cache is not None:
        assert len(cache) == 1  # the broken file was not cached
        cache.close()
