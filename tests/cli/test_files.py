"""files ls|search|info, metadata and frame on the real instrument files, and the
failures a user meets: a missing file, a file outside the data roots."""

from __future__ import annotations

import io

from PIL import Image

from tests.cli.helpers import failed, ok

TIMELAPSE = "nd2/arcadia-example-timelapse.nd2"


def test_files_ls_lists_a_folder(cli, shared_data):
    data = ok(cli("files", "ls", str(shared_data / "nd2"), "--json"))
    names = {item["name"]: item for item in data["items"]}
    assert {"arcadia-example-timelapse.nd2", "cluster.nd2", "arcadia-known-metadata.yml"} <= set(
        names
    )
    assert names["cluster.nd2"]["is_microscopy_file"] is True
    assert names["arcadia-known-metadata.yml"]["is_microscopy_file"] is False
    only_nd2 = ok(cli("files", "ls", str(shared_data / "nd2"), "--ext", ".nd2", "--json"))
    assert {item["extension"] for item in only_nd2["items"]} == {".nd2"}
    table = cli("files", "ls", str(shared_data / "nd2"))
    assert table.exit_code == 0
    assert "cluster.nd2" in table.stdout


def test_files_search_finds_files_by_pattern(cli, shared_data):
    data = ok(cli("files", "search", str(shared_data), "--pattern", "**/*.nd2", "--json"))
    assert data["total_found"] == 3
    assert all(item["path"].endswith(".nd2") for item in data["files"])
    table = cli("files", "search", str(shared_data), "--pattern", "**/*.czi")
    assert table.exit_code == 0
    assert "2 found" in table.stdout


def test_files_info_and_metadata_read_the_real_file(cli, shared_data):
    path = str(shared_data / TIMELAPSE)
    info = ok(cli("files", "info", path, "--json"))
    assert info["is_microscopy_file"] is True
    assert info["metadata_preview"]["n_frames"] == 53
    metadata = ok(cli("metadata", path, "--json"))
    assert (metadata["n_fovs"], metadata["n_frames"], metadata["n_channels"]) == (1, 53, 1)
    assert metadata["shape"] == [64, 64]
    assert abs(metadata["pixel_size_um"] - 0.325) < 1e-3
    table = cli("metadata", path)
    assert table.exit_code == 0
    assert "n_frames" in table.stdout and "53" in table.stdout


def test_frame_writes_a_png_of_the_frame(cli, shared_data, tmp_path):
    output = tmp_path / "frame.png"
    path = str(shared_data / "nd2/arcadia-example-multichannel.nd2")
    data = ok(cli("frame", path, "--channel", "2", "-o", str(output), "--json"))
    assert data["output"] == str(output)
    assert data["display_min"] <= data["display_max"]
    image = Image.open(io.BytesIO(output.read_bytes()))
    assert (image.format, image.size) == ("PNG", (256, 256))
    assert [p.name for p in tmp_path.iterdir()] == ["frame.png"]  # no temporary left


def test_a_frame_outside_the_file_fails_and_writes_nothing(cli, shared_data, tmp_path):
    output = tmp_path / "frame.png"
    path = str(shared_data / TIMELAPSE)
    body = failed(
        cli("frame", path, "--t", "999", "-o", str(output), "--json"), "INVALID_PARAMETERS"
    )
    assert "999" in body["error"] or "t" in body["details"]
    assert list(tmp_path.iterdir()) == []


def test_a_missing_file_is_file_not_found(cli, shared_data):
    missing = str(shared_data / "nd2/no-such-file.nd2")
    body = failed(cli("metadata", missing, "--json"), "FILE_NOT_FOUND")
    assert body["status"] == 404
    plain = cli("metadata", missing)
    assert plain.exit_code == 1
    assert plain.stderr.startswith("Error FILE_NOT_FOUND:")


def test_a_file_outside_the_data_roots_is_refused(cli):
    body = failed(cli("files", "info", "/etc/hostname", "--json"), "FORBIDDEN")
    assert body["status"] == 403
    failed(cli("files", "ls", "/etc", "--json"), "FORBIDDEN")


def test_relative_paths_are_taken_from_the_current_folder(cli, shared_data, monkeypatch):
    monkeypatch.chdir(shared_data / "nd2")
    metadata = ok(cli("metadata", "cluster.nd2", "--json"))
    assert metadata["file_path"] == str(shared_data / "nd2" / "cluster.nd2")
