"""The readers on real instrument files: metadata as the instruments recorded it, and
pixels equal to what each format library returns directly."""

from __future__ import annotations

import itertools
from pathlib import Path

import nd2
import numpy as np
import pytest
import tifffile
import yaml
from pylibCZIrw import czi as pyczi

from services.microscopy.core.extensions import is_microscopy_name
from services.microscopy.core.readers import CZIReader, ND2Reader, TiffReader, open_reader

from .conftest import (
    ARCADIA_MULTICHANNEL,
    ARCADIA_TIMELAPSE,
    CLUSTER_ND2,
    CZI_SCENES,
    CZI_TIMELAPSE,
    IMAGEJ_CLUSTER,
    OME_TIMELAPSE,
    REAL_FILES,
)

# Expected facts, from shared/data/README.md and the vendors' metadata.
EXPECTED = {
    ARCADIA_TIMELAPSE: dict(
        file_type="nd2", n_fovs=1, n_frames=53, n_channels=1, channel_names=("GFP 488 nm",),
        pixel_size_um=0.325, dtype="uint16", shape=(64, 64), n_z=1, z_step_um=None, axes="TYX",
    ),
    ARCADIA_MULTICHANNEL: dict(
        file_type="nd2", n_fovs=1, n_frames=1, n_channels=4,
        channel_names=("Mono", "DAPI", "FITC BP", "TRITC BP"), pixel_size_um=0.323390342594048,
        dtype="uint16", shape=(256, 256), n_z=1, z_step_um=None, axes="CYX",
    ),
    CLUSTER_ND2: dict(
        file_type="nd2", n_fovs=1, n_frames=3, n_channels=2,
        channel_names=("5-FAM/pH 9.0", "FM 4-64/2% CHAPS"), pixel_size_um=0.1678,
        dtype="uint16", shape=(31, 38), n_z=10, z_step_um=0.5, axes="TCZYX",
    ),
    CZI_TIMELAPSE: dict(
        file_type="czi", n_fovs=1, n_frames=3, n_channels=2, channel_names=("LED555", "LED470"),
        pixel_size_um=0.0906, dtype="uint16", shape=(170, 240), n_z=5, z_step_um=0.32,
        axes="TCZYX",
    ),
    CZI_SCENES: dict(
        file_type="czi", n_fovs=3, n_frames=1, n_channels=1, channel_names=("DAPI",),
        pixel_size_um=1.6, dtype="uint16", shape=(122, 295), n_z=1, z_step_um=None, axes="PYX",
    ),
    OME_TIMELAPSE: dict(
        file_type="tiff", n_fovs=1, n_frames=53, n_channels=1, channel_names=("GFP 488 nm",),
        pixel_size_um=0.325, dtype="uint16", shape=(64, 64), n_z=1, z_step_um=None, axes="TYX",
    ),
    IMAGEJ_CLUSTER: dict(
        file_type="tiff", n_fovs=1, n_frames=3, n_channels=2, channel_names=("C0", "C1"),
        pixel_size_um=0.1678, dtype="uint16", shape=(31, 38), n_z=10, z_step_um=0.5,
        axes="TCZYX",
    ),
}  # fmt: skip


def test_every_real_microscopy_file_is_covered(shared_data: Path) -> None:
    present = {
        str(p.relative_to(shared_data))
        for folder in ("nd2", "czi", "tiff")
        for p in (shared_data / folder).iterdir()
        if is_microscopy_name(p.name)
    }
    assert present == set(REAL_FILES)


@pytest.mark.parametrize("relative", REAL_FILES)
def test_metadata_matches_the_instrument(real_file, relative: str) -> None:
    path = real_file(relative)
    expected = EXPECTED[relative]
    with open_reader(path) as reader:
        md = reader.metadata
    for field in ("file_type", "n_fovs", "n_frames", "n_channels", "channel_names", "dtype"):
        assert getattr(md, field) == expected[field], field
    assert md.shape == expected["shape"]
    assert md.n_z == expected["n_z"]
    assert md.axes == expected["axes"]
    assert md.pixel_size_um == pytest.approx(expected["pixel_size_um"], rel=1e-3)
    if expected["z_step_um"] is None:
        assert md.z_step_um is None
    else:
        assert md.z_step_um == pytest.approx(expected["z_step_um"], rel=1e-6)
    assert md.file_path == str(path)
    assert md.size_bytes == path.stat().st_size
    # Every file here records real times: minutes from the first frame, non-decreasing.
    assert md.time_unit == "min"
    assert len(md.time_points) == md.n_frames
    assert md.time_points[0] == 0.0
    assert all(b >= a for a, b in itertools.pairwise(md.time_points))
    sizes = dict(zip(md.axes, md.full_shape, strict=True))
    assert sizes.get("T", 1) == md.n_frames and sizes.get("Z", 1) == md.n_z
    assert sizes.get("C", 1) == md.n_channels and sizes.get("P", 1) == md.n_fovs
    assert (sizes["Y"], sizes["X"]) == md.shape


# ------------------------------------------------------------------ library ground truth


def _nd2_canonical(path: Path) -> np.ndarray:
    """The whole (small) file via nd2, as (P, T, C, Z, Y, X)."""
    with nd2.ND2File(path) as f:
        data, dims = f.asarray(), list(f.sizes)
    for axis in "PTCZ":
        if axis not in dims:
            data, dims = data[np.newaxis], [axis, *dims]
    return np.transpose(data, [dims.index(a) for a in "PTCZYX"])


def _tiff_canonical(path: Path) -> np.ndarray:
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        data, dims = series.asarray(), list(series.axes)
    for axis in "PTCZ":
        if axis not in dims:
            data, dims = data[np.newaxis], [axis, *dims]
    return np.transpose(data, [dims.index(a) for a in "PTCZYX"])


def _czi_plane(path: Path, scene: int | None, t: int, c: int, z: int) -> np.ndarray:
    with pyczi.open_czi(str(path)) as doc:
        rects = doc.scenes_bounding_rectangle
        rect = rects[scene] if scene is not None else doc.total_bounding_rectangle
        plane = doc.read(
            roi=(rect.x, rect.y, rect.w, rect.h), plane={"T": t, "C": c, "Z": z}, scene=scene
        )
    return plane[:, :, 0]


def _every_address(md):
    return itertools.product(
        range(md.n_fovs), range(md.n_frames), range(md.n_channels), range(md.n_z)
    )


@pytest.mark.parametrize(
    ("relative", "canonical"),
    [
        (ARCADIA_TIMELAPSE, _nd2_canonical),
        (ARCADIA_MULTICHANNEL, _nd2_canonical),
        (CLUSTER_ND2, _nd2_canonical),
        (OME_TIMELAPSE, _tiff_canonical),
        (IMAGEJ_CLUSTER, _tiff_canonical),
    ],
)
def test_every_frame_equals_the_library(real_file, relative: str, canonical) -> None:
    path = real_file(relative)
    truth = canonical(path)
    with open_reader(path) as reader:
        md = reader.metadata
        assert truth.shape == (md.n_fovs, md.n_frames, md.n_channels, md.n_z, *md.shape)
        for fov, t, c, z in _every_address(md):
            frame = reader.read_frame(fov, t, c, z)
            assert frame.dtype == np.dtype(md.dtype)
            assert frame.flags.c_contiguous and frame.flags.writeable
            np.testing.assert_array_equal(frame, truth[fov, t, c, z])


@pytest.mark.parametrize("relative", [CZI_TIMELAPSE, CZI_SCENES])
def test_czi_frames_equal_the_library(real_file, relative: str) -> None:
    path = real_file(relative)
    with open_reader(path) as reader:
        md = reader.metadata
        scenes = [None] if md.n_fovs == 1 else list(range(md.n_fovs))
        for fov, t, c, z in _every_address(md):
            frame = reader.read_frame(fov, t, c, z)
            assert frame.shape == reader.frame_shape(fov)
            assert frame.dtype == np.uint16
            np.testing.assert_array_equal(frame, _czi_plane(path, scenes[fov], t, c, z))


def test_czi_mosaic_scenes_are_fovs_of_their_own_size(real_file) -> None:
    with open_reader(real_file(CZI_SCENES)) as reader:
        assert isinstance(reader, CZIReader)
        # 1 position + 2 mosaics (README); each scene read whole at full resolution.
        assert [reader.frame_shape(f) for f in range(3)] == [(122, 295), (64, 64), (237, 352)]
        mosaic = reader.read_frame(2, 0, 0)
        # The second mosaic is a polygon: the part of its box outside the tiles stays 0.
        assert 0.1 < np.mean(mosaic == 0) < 0.5
        assert mosaic.max() > 1000


def test_czi_times_come_from_the_file(real_file) -> None:
    with open_reader(real_file(CZI_TIMELAPSE)) as reader:
        # Dimensions/T offsets 0, 60.075, 120.15 s.
        assert reader.metadata.time_points == pytest.approx((0.0, 1.00125, 2.0025))


def test_nd2_times_are_the_recorded_frame_times(real_file) -> None:
    path = real_file(ARCADIA_TIMELAPSE)
    with nd2.ND2File(path) as f:
        seconds = np.asarray(f.events(orient="list")["Time [s]"])
    with open_reader(path) as reader:
        md = reader.metadata
    np.testing.assert_allclose(md.time_points, (seconds - seconds[0]) / 60.0, atol=1e-9)
    # A 500 ms cadence (NIS-Elements: 53 frames over 26 s).
    assert np.diff(md.time_points).mean() * 60 == pytest.approx(0.5, abs=1e-3)


def test_cluster_times_date_each_time_point_by_its_first_plane(real_file) -> None:
    with open_reader(real_file(CLUSTER_ND2)) as reader:
        md = reader.metadata
    # The Z loop runs inside T: 10 planes take ~10.6 s, then the next time point starts.
    assert md.time_points == pytest.approx((0.0, 10.641 / 60, 21.295 / 60), abs=1e-3)


# ----------------------------------------------------------- derived files = originals


@pytest.mark.parametrize(
    ("derived", "original"), [(OME_TIMELAPSE, ARCADIA_TIMELAPSE), (IMAGEJ_CLUSTER, CLUSTER_ND2)]
)
def test_derived_tiffs_hold_the_nd2_pixels(real_file, derived: str, original: str) -> None:
    with open_reader(real_file(derived)) as tiff, open_reader(real_file(original)) as raw:
        assert isinstance(tiff, TiffReader) and isinstance(raw, ND2Reader)
        assert tiff.metadata.full_shape == raw.metadata.full_shape
        for fov, t, c, z in _every_address(raw.metadata):
            np.testing.assert_array_equal(
                tiff.read_frame(fov, t, c, z), raw.read_frame(fov, t, c, z)
            )


def test_ome_times_equal_the_nd2_times(real_file) -> None:
    with (
        open_reader(real_file(OME_TIMELAPSE)) as tiff,
        open_reader(real_file(ARCADIA_TIMELAPSE)) as raw,
    ):
        np.testing.assert_allclose(tiff.metadata.time_points, raw.metadata.time_points, atol=1e-6)


def test_imagej_frame_interval_is_read(real_file) -> None:
    with open_reader(real_file(IMAGEJ_CLUSTER)) as reader:
        # The hyperstack records finterval=1800 s: 30 min per frame.
        assert reader.metadata.time_points == (0.0, 30.0, 60.0)


# -------------------------------------------------------------- Arcadia ground truth


def _arcadia_channel(recorded: str, known: list[str]) -> str:
    """Arcadia's rule from instrument names to its channel names (arcadia-microscopy-tools
    channels.py): "Mono" is brightfield, "GFP" is FITC, else the name contained."""
    lowered = recorded.lower()
    if "mono" in lowered:
        return "BRIGHTFIELD"
    if "gfp" in lowered:
        return "FITC"
    return max((k for k in known if k in recorded.upper()), key=len)


@pytest.mark.parametrize(
    ("relative", "key"),
    [
        (ARCADIA_TIMELAPSE, "example-timelapse.nd2"),
        (ARCADIA_MULTICHANNEL, "example-multichannel.nd2"),
    ],
)
def test_arcadia_files_match_known_metadata(real_file, relative: str, key: str) -> None:
    known = yaml.safe_load(real_file("nd2/arcadia-known-metadata.yml").read_text())[key]
    with open_reader(real_file(relative)) as reader:
        md = reader.metadata
    assert [_arcadia_channel(name, list(known)) for name in md.channel_names] == list(known)
    for channel in known.values():
        resolution = channel["resolution"]
        assert md.shape == (resolution["y_size_px"], resolution["x_size_px"])
        assert md.n_z == resolution["z_size_px"]
        assert md.pixel_size_um == pytest.approx(resolution["xy_step_um"], rel=1e-9)
