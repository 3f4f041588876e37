"""The TIFF reader on files written here with known ground truth."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import tifffile

from services.microscopy.core.readers import open_reader
from testing.synthetic_tiff import synthetic_plane, write_synthetic_ome_tiff

T, Z, C, H, W = 4, 3, 2, 20, 24


def encode(t: int, c: int, z: int, dtype=np.uint16) -> np.ndarray:
    """A plane whose pixels tell where it came from, with a ramp to catch transposes."""
    ramp = np.arange(H * W).reshape(H, W) % 100
    return (10000 * t + 1000 * c + 100 * z + ramp).astype(dtype)


def hyperstack(dtype=np.uint16) -> np.ndarray:
    data = np.empty((T, Z, C, H, W), dtype)
    for t, z, c in itertools.product(range(T), range(Z), range(C)):
        data[t, z, c] = encode(t, c, z, dtype)
    return data


def assert_every_frame(reader, fov_offset=lambda fov: 0) -> None:
    md = reader.metadata
    for fov, t, c, z in itertools.product(
        range(md.n_fovs), range(md.n_frames), range(md.n_channels), range(md.n_z)
    ):
        frame = reader.read_frame(fov, t, c, z)
        np.testing.assert_array_equal(frame, encode(t, c, z) + fov_offset(fov))


@pytest.mark.parametrize(("unit", "per_second"), [("s", 1.0), ("ms", 1000.0), ("min", 1 / 60)])
def test_ome_tiff_tzcyx_metadata_and_pixels(tmp_path: Path, unit: str, per_second: float) -> None:
    # DeltaT of plane (t, z, c) = 90 t + 2 z + 0.5 c seconds: each time point starts at 1.5 t min.
    deltas = [
        (90 * t + 2 * z + 0.5 * c) * per_second
        for t in range(T)
        for z in range(Z)
        for c in range(C)
    ]
    path = tmp_path / "known.ome.tif"
    tifffile.imwrite(
        path,
        hyperstack(),
        ome=True,
        metadata={
            "axes": "TZCYX",
            "PhysicalSizeX": 0.4,
            "PhysicalSizeY": 0.4,
            "PhysicalSizeZ": 1.5,
            "Channel": {"Name": ["Phase", "GFP"]},
            "Plane": {"DeltaT": deltas, "DeltaTUnit": [unit] * len(deltas)},
        },
    )
    with open_reader(path) as reader:
        md = reader.metadata
        assert (md.file_type, md.n_fovs, md.n_frames, md.n_channels, md.n_z) == ("tiff", 1, T, C, Z)
        assert md.channel_names == ("Phase", "GFP")
        assert md.pixel_size_um == pytest.approx(0.4)
        assert md.z_step_um == pytest.approx(1.5)
        assert md.time_unit == "min"
        assert md.time_points == pytest.approx([1.5 * t for t in range(T)])
        assert (md.dtype, md.shape, md.axes, md.full_shape) == (
            "uint16",
            (H, W),
            "TCZYX",
            (T, C, Z, H, W),
        )
        assert_every_frame(reader)


def test_ome_tiff_units_are_converted(tmp_path: Path) -> None:
    path = tmp_path / "nm.ome.tiff"
    tifffile.imwrite(
        path,
        hyperstack()[:, 0],
        ome=True,
        metadata={
            "axes": "TCYX",
            "PhysicalSizeX": 650,
            "PhysicalSizeXUnit": "nm",
            "TimeIncrement": 2,
            "TimeIncrementUnit": "h",
        },
    )
    with open_reader(path) as reader:
        md = reader.metadata
        assert md.pixel_size_um == pytest.approx(0.65)
        assert md.time_points == pytest.approx([0, 120, 240, 360])  # from TimeIncrement
        assert md.channel_names == ("C0", "C1")
        np.testing.assert_array_equal(reader.read_frame(0, 3, 1), encode(3, 1, 0))


def test_multi_image_ome_tiff_gives_one_fov_per_image(tmp_path: Path) -> None:
    path = tmp_path / "positions.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        for fov in range(3):
            writer.write(hyperstack()[:, 0] + fov, metadata={"axes": "TCYX", "Name": f"pos{fov}"})
    with open_reader(path) as reader:
        assert reader.metadata.n_fovs == 3
        assert reader.metadata.axes == "TPCYX"
        assert_every_frame(reader, fov_offset=lambda fov: fov)


@pytest.mark.parametrize("truncate", [False, True], ids=["one-ifd-per-plane", "single-ifd"])
def test_imagej_hyperstack(tmp_path: Path, truncate: bool) -> None:
    # ImageJ writes files over 4 GB with one IFD ("truncate"): planes are read by offset.
    path = tmp_path / "stack.tif"
    tifffile.imwrite(
        path,
        hyperstack(),
        imagej=True,
        truncate=truncate,
        resolution=(1 / 0.25, 1 / 0.25),
        metadata={"axes": "TZCYX", "finterval": 45, "spacing": 2.0, "unit": "micron"},
    )
    with open_reader(path) as reader:
        md = reader.metadata
        assert (md.n_frames, md.n_channels, md.n_z, md.shape) == (T, C, Z, (H, W))
        assert md.pixel_size_um == pytest.approx(0.25)
        assert md.z_step_um == pytest.approx(2.0)
        assert md.time_unit == "min"
        assert md.time_points == pytest.approx([0.0, 0.75, 1.5, 2.25])  # finterval 45 s
        assert_every_frame(reader)


def test_rgb_samples_become_channels(tmp_path: Path) -> None:
    rgb = np.zeros((2, H, W, 3), np.uint8)
    for t, s in itertools.product(range(2), range(3)):
        rgb[t, :, :, s] = 10 * t + s + 1
    contiguous, planar = tmp_path / "contig.tif", tmp_path / "planar.tif"
    tifffile.imwrite(contiguous, rgb, photometric="rgb", metadata={"axes": "TYXS"})
    tifffile.imwrite(planar, np.moveaxis(rgb, -1, 1), photometric="rgb", planarconfig="separate")
    for path in (contiguous, planar):
        with open_reader(path) as reader:
            md = reader.metadata
            assert (md.n_frames, md.n_channels, md.channel_names) == (2, 3, ("R", "G", "B"))
            for t, s in itertools.product(range(2), range(3)):
                frame = reader.read_frame(0, t, s)
                assert frame.shape == (H, W)
                assert (frame == 10 * t + s + 1).all()


def test_plain_multipage_tiff_pages_are_frames_without_times(tmp_path: Path) -> None:
    path = tmp_path / "pages.tiff"
    with tifffile.TiffWriter(path) as writer:
        for t in range(5):
            writer.write(encode(t, 0, 0), contiguous=False, metadata=None)
    with open_reader(path) as reader:
        md = reader.metadata
        assert (md.n_frames, md.n_channels, md.axes) == (5, 1, "TYX")
        assert md.time_unit == "frame"
        assert md.time_points == (0.0, 1.0, 2.0, 3.0, 4.0)
        assert md.pixel_size_um is None
        np.testing.assert_array_equal(reader.read_frame(0, 4, 0), encode(4, 0, 0))


def test_big_endian_compressed_tiled_tiff(tmp_path: Path) -> None:
    path = tmp_path / "be.tif"
    data = hyperstack()[:, 0, 0]  # T, Y, X
    tifffile.imwrite(
        path,
        data,
        byteorder=">",
        tile=(16, 16),
        compression="zlib",
        photometric="minisblack",
        metadata={"axes": "TYX"},
        resolution=(1e4 / 0.5, 1e4 / 0.5),
        resolutionunit="CENTIMETER",
    )
    with open_reader(path) as reader:
        assert reader.metadata.pixel_size_um == pytest.approx(0.5)
        frame = reader.read_frame(0, 2, 0)
        assert frame.dtype.isnative
        np.testing.assert_array_equal(frame, encode(2, 0, 0))


def test_float_frames(tmp_path: Path) -> None:
    path = tmp_path / "float.tif"
    tifffile.imwrite(path, hyperstack(np.float32)[:, 0], metadata={"axes": "TCYX"})
    with open_reader(path) as reader:
        assert reader.metadata.dtype == "float32"
        np.testing.assert_array_equal(reader.read_frame(0, 1, 1), encode(1, 1, 0, np.float32))


def test_synthetic_writer_records_what_it_claims(tmp_path: Path) -> None:
    path = write_synthetic_ome_tiff(
        tmp_path / "synthetic.ome.tif",
        n_frames=3,
        n_channels=2,
        height=32,
        width=48,
        pixel_size_um=0.65,
        frame_interval_s=600,
        channel_names=["phase", "gfp"],
    )
    with open_reader(path) as reader:
        md = reader.metadata
        assert (md.n_frames, md.n_channels, md.shape) == (3, 2, (32, 48))
        assert md.channel_names == ("phase", "gfp")
        assert md.pixel_size_um == pytest.approx(0.65)
        assert md.time_points == pytest.approx((0.0, 10.0, 20.0))
        for t, c in itertools.product(range(3), range(2)):
            np.testing.assert_array_equal(reader.read_frame(0, t, c), synthetic_plane(t, c, 32, 48))
