"""Metadata, features and file info through the real edge and service: every real
instrument file, and files written here with known axes, times and pixel sizes."""

from __future__ import annotations

import itertools
from pathlib import Path

import grpc
import numpy as np
import pytest
import tifffile
import yaml

from common.rpc_errors import RpcFailure
from micrographia.microscopy.v1 import microscopy_pb2 as pb
from services.microscopy.core import open_reader
from testing.synthetic_tiff import write_synthetic_ome_tiff
from tests.microscopy.conftest import (
    ARCADIA_MULTICHANNEL,
    ARCADIA_TIMELAPSE,
    CLUSTER_ND2,
    REAL_FILES,
)
from tests.microscopy.edge_api import microscopy_stub, post

# pyama-api.md, "Load Microscopy Metadata".
DOCUMENTED_FIELDS = {
    "n_fovs",
    "n_frames",
    "n_channels",
    "channel_names",
    "pixel_size_um",
    "time_points",
    "dtype",
    "shape",
}


@pytest.mark.parametrize("relative", REAL_FILES)
def test_load_metadata_of_every_real_file(edge, real_file, relative: str) -> None:
    path = real_file(relative)
    data = post(edge, "load-metadata", file_path=str(path))
    assert data.keys() >= DOCUMENTED_FIELDS
    with open_reader(path) as reader:
        assert data == reader.metadata.to_dict()  # nothing lost or changed on the way


def test_arcadia_files_match_the_known_metadata(edge, real_file) -> None:
    known = yaml.safe_load(real_file("nd2/arcadia-known-metadata.yml").read_text())
    for relative, name in [
        (ARCADIA_TIMELAPSE, "example-timelapse.nd2"),
        (ARCADIA_MULTICHANNEL, "example-multichannel.nd2"),
    ]:
        data = post(edge, "load-metadata", file_path=str(real_file(relative)))
        channels = known[name]
        assert data["n_channels"] == len(channels)
        for facts in channels.values():
            resolution = facts["resolution"]
            assert data["shape"] == [resolution["y_size_px"], resolution["x_size_px"]]
            assert data["pixel_size_um"] == pytest.approx(resolution["xy_step_um"], rel=1e-6)
    timelapse = post(edge, "load-metadata", file_path=str(real_file(ARCADIA_TIMELAPSE)))
    assert timelapse["n_frames"] == 53 and timelapse["time_unit"] == "min"
    assert timelapse["time_points"][0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(timelapse["time_points"]))


def test_synthetic_ome_tiff_with_known_axes_times_and_pixel_size(edge, data_root: Path) -> None:
    T, Z, C, H, W = 3, 2, 2, 24, 32
    path = data_root / "metadata" / "known.ome.tif"
    path.parent.mkdir(exist_ok=True)
    deltas = [120.0 * t + 3 * z + c for t in range(T) for z in range(Z) for c in range(C)]
    tifffile.imwrite(
        path,
        np.zeros((T, Z, C, H, W), np.uint16),
        ome=True,
        metadata={
            "axes": "TZCYX",
            "PhysicalSizeX": 0.65,
            "PhysicalSizeY": 0.65,
            "PhysicalSizeZ": 1.5,
            "Channel": {"Name": ["Phase", "GFP"]},
            "Plane": {"DeltaT": deltas, "DeltaTUnit": ["s"] * len(deltas)},
        },
    )
    data = post(edge, "load-metadata", file_path=str(path))
    assert data == {
        "file_path": str(path.resolve()),
        "file_type": "tiff",
        "n_fovs": 1,
        "n_frames": T,
        "n_channels": C,
        "channel_names": ["Phase", "GFP"],
        "pixel_size_um": 0.65,
        "time_points": [0.0, 2.0, 4.0],  # minutes: 120 s apart
        "time_unit": "min",
        "dtype": "uint16",
        "shape": [H, W],
        "n_z": Z,
        "z_step_um": 1.5,
        "full_shape": [T, C, Z, H, W],
        "axes": "TCZYX",
        "size_bytes": path.stat().st_size,
    }


def test_synthetic_imagej_hyperstack(edge, data_root: Path) -> None:
    path = data_root / "metadata" / "stack.tif"
    path.parent.mkdir(exist_ok=True)
    tifffile.imwrite(
        path,
        np.zeros((4, 3, 2, 16, 20), np.uint8),
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.25),
        metadata={"axes": "TZCYX", "finterval": 30, "spacing": 2.0, "unit": "micron"},
    )
    data = post(edge, "load-metadata", file_path=str(path))
    assert (data["n_frames"], data["n_z"], data["n_channels"]) == (4, 3, 2)
    assert (data["shape"], data["dtype"], data["axes"]) == ([16, 20], "uint8", "TCZYX")
    assert data["pixel_size_um"] == pytest.approx(0.25)
    assert data["z_step_um"] == pytest.approx(2.0)
    assert data["time_points"] == pytest.approx([0.0, 0.5, 1.0, 1.5])  # finterval 30 s
    assert data["time_unit"] == "min"


def test_features_lists_every_built_in_feature(edge) -> None:
    response = edge.get("/api/processing/features")
    assert response.status_code == 200
    data = response.json()["data"]
    assert {f["id"] for f in data["phase_features"]} == {"area", "aspect_ratio"}
    assert {f["id"] for f in data["fluorescence_features"]} == {
        "intensity_total",
        "intensity_mean",
    }
    for feature in data["phase_features"] + data["fluorescence_features"]:
        assert set(feature) == {"id", "name", "description", "units"}
        assert all(feature.values())
    area = next(f for f in data["phase_features"] if f["id"] == "area")
    assert area == {
        "id": "area",
        "name": "Cell Area",
        "description": "Area of the cell in pixels",
        "units": "pixels^2",
    }


# ---------------------------------------------------------------- file info


def test_file_info_of_a_microscopy_file(edge, real_file) -> None:
    path = real_file(CLUSTER_ND2)
    data = post(edge, "file-info", file_path=str(path))
    assert data["file_info"] == {
        "name": "cluster.nd2",
        "path": str(path),
        "is_directory": False,
        "is_file": True,
        "size_bytes": path.stat().st_size,
        "modified_time": data["file_info"]["modified_time"],
        "extension": ".nd2",
        "is_microscopy_file": True,
    }
    assert data["file_info"]["modified_time"].endswith("Z")
    assert data["is_microscopy_file"] is True
    assert data["metadata_error"] is None
    preview = data["metadata_preview"]
    # pyama's preview shape: [n_frames, n_fovs, n_channels, height, width].
    assert preview["shape"] == [3, 1, 2, 31, 38]
    assert preview["frame_shape"] == [31, 38]
    assert (preview["axes"], preview["full_shape"]) == ("TCZYX", [3, 2, 10, 31, 38])
    assert preview["channel_names"] == ["5-FAM/pH 9.0", "FM 4-64/2% CHAPS"]
    assert (preview["n_fovs"], preview["n_frames"], preview["dtype"]) == (1, 3, "uint16")


def test_file_info_of_other_files_and_folders(edge, data_root: Path) -> None:
    notes = data_root / "info" / "notes.txt"
    notes.parent.mkdir(exist_ok=True)
    notes.write_text("hello")
    data = post(edge, "file-info", file_path=str(notes))
    assert data["is_microscopy_file"] is False
    assert data["metadata_preview"] is None and data["metadata_error"] is None
    assert (data["file_info"]["extension"], data["file_info"]["size_bytes"]) == (".txt", 5)

    folder = post(edge, "file-info", file_path=str(notes.parent))["file_info"]
    assert folder["is_directory"] is True and folder["is_file"] is False
    assert folder["size_bytes"] is None and folder["extension"] is None


def test_file_info_of_a_corrupt_microscopy_file_says_why(edge, data_root: Path) -> None:
    corrupt = data_root / "info" / "broken.czi"
    corrupt.parent.mkdir(exist_ok=True)
    corrupt.write_bytes(b"not a czi at all" * 64)
    data = post(edge, "file-info", file_path=str(corrupt))
    assert data["is_microscopy_file"] is True
    assert data["metadata_preview"] is None
    assert "broken.czi" in data["metadata_error"]
    assert "not a valid CZI file" in data["metadata_error"]


# ---------------------------------------------------------------- over gRPC


@pytest.mark.parametrize("relative", REAL_FILES)
def test_grpc_metadata_and_frames_equal_the_core(platform, real_file, relative: str) -> None:
    path = real_file(relative)
    with microscopy_stub(platform.address("microscopy")) as stub, open_reader(path) as reader:
        response = stub.LoadMetadata(pb.LoadMetadataRequest(file_path=str(path)))
        md = reader.metadata
        assert response.metadata.axes == md.axes
        assert list(response.metadata.full_shape) == list(md.full_shape)
        last = (md.n_fovs - 1, md.n_frames - 1, md.n_channels - 1, md.n_z - 1)
        for fov, t, c, z in [(0, 0, 0, 0), last]:
            address = pb.FrameAddress(file_path=str(path), fov=fov, t=t, channel=c, z=z)
            frame = stub.ReadFrame(pb.ReadFrameRequest(frame=address))
            pixels = np.frombuffer(frame.data, frame.dtype).reshape(frame.shape)
            np.testing.assert_array_equal(pixels, reader.read_frame(fov, t, c, z))


def test_grpc_read_frame_of_a_synthetic_time_lapse(platform, data_root: Path) -> None:
    (data_root / "metadata").mkdir(exist_ok=True)
    path = write_synthetic_ome_tiff(
        data_root / "metadata" / "ramp.ome.tif", n_frames=5, n_channels=2, height=40, width=50
    )
    with microscopy_stub(platform.address("microscopy")) as stub, open_reader(path) as reader:
        for t, c in itertools.product(range(5), range(2)):
            address = pb.FrameAddress(file_path=str(path), t=t, channel=c)
            frame = stub.ReadFrame(pb.ReadFrameRequest(frame=address))
            assert (frame.dtype, list(frame.shape), len(frame.data)) == ("uint16", [40, 50], 4000)
            pixels = np.frombuffer(frame.data, frame.dtype).reshape(frame.shape)
            np.testing.assert_array_equal(pixels, reader.read_frame(0, t, c))


def test_grpc_errors_carry_the_documented_codes(platform, real_file) -> None:
    path = str(real_file(ARCADIA_TIMELAPSE))
    cases = [
        (pb.FrameAddress(file_path=path, t=53), grpc.StatusCode.INVALID_ARGUMENT,
         "INVALID_PARAMETERS"),
        (pb.FrameAddress(file_path="/etc/passwd"), grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN"),
        (pb.FrameAddress(file_path=path + ".missing"), grpc.StatusCode.NOT_FOUND,
         "FILE_NOT_FOUND"),
        (pb.FrameAddress(), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PARAMETERS"),
    ]  # fmt: skip
    with microscopy_stub(platform.address("microscopy")) as stub:
        for address, status, code in cases:
            for call in (
                lambda a=address: stub.ReadFrame(pb.ReadFrameRequest(frame=a)),
                lambda a=address: stub.RenderFrame(pb.RenderFrameRequest(frame=a)),
            ):
                with pytest.raises(grpc.RpcError) as info:
                    call()
                failure = RpcFailure.from_error(info.value)
                assert (failure.grpc_code, failure.error_code) == (status, code)
        with pytest.raises(grpc.RpcError) as info:
            stub.StartWorkflow(pb.StartWorkflowRequest())
        failure = RpcFailure.from_error(info.value)
        assert (failure.grpc_code, failure.error_code) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_PARAMETERS",
        )
        assert "microscopy_path" in failure.message and "channels.phase" in failure.message
