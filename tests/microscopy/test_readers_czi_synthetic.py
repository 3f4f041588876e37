"""The CZI reader on files written here with pylibCZIrw: scenes of tiles, colour, mixed depths."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from pylibCZIrw import czi as pyczi

from services.microscopy.core.readers import open_reader


def value(t: int, c: int, tile: int) -> int:
    return 1000 * t + 100 * c + tile


@pytest.fixture
def scenes_czi(tmp_path: Path) -> Path:
    """Scene 0: two 16x12 tiles side by side; scene 1: one 10x8 tile far away. T=2, C=2."""
    path = tmp_path / "scenes.czi"
    with pyczi.create_czi(str(path), exist_ok=True) as writer:
        for t, c in itertools.product(range(2), range(2)):
            plane = {"T": t, "C": c, "Z": 0}
            writer.write(np.full((12, 16), value(t, c, 1), np.uint16), (0, 0), plane, scene=0)
            writer.write(np.full((12, 16), value(t, c, 2), np.uint16), (16, 0), plane, scene=0)
            writer.write(np.full((8, 10), value(t, c, 3), np.uint16), (100, 50), plane, scene=1)
        # pylibCZIrw stores this in micrometres where Zeiss stores metres.
        writer.write_metadata(channel_names={0: "Phase", 1: "GFP"}, scale_x=0.5, scale_y=0.5)
    return path


def test_scenes_are_fovs_composed_from_their_tiles(scenes_czi: Path) -> None:
    with open_reader(scenes_czi) as reader:
        md = reader.metadata
        assert (md.n_fovs, md.n_frames, md.n_channels, md.n_z) == (2, 2, 2, 1)
        assert md.channel_names == ("Phase", "GFP")
        assert md.pixel_size_um == pytest.approx(0.5)
        assert (md.shape, md.axes, md.full_shape) == ((12, 32), "TPCYX", (2, 2, 2, 12, 32))
        # The writer records no times: frame indices stand in.
        assert (md.time_points, md.time_unit) == ((0.0, 1.0), "frame")
        assert reader.frame_shape(1) == (8, 10)
        for t, c in itertools.product(range(2), range(2)):
            mosaic = reader.read_frame(0, t, c)
            assert mosaic.shape == (12, 32)
            assert (mosaic[:, :16] == value(t, c, 1)).all()
            assert (mosaic[:, 16:] == value(t, c, 2)).all()
            single = reader.read_frame(1, t, c)
            assert single.shape == (8, 10) and (single == value(t, c, 3)).all()


def test_colour_czi_gives_rgb_channels_in_rgb_order(tmp_path: Path) -> None:
    path = tmp_path / "colour.czi"
    bgr = np.zeros((6, 7, 3), np.uint8)
    bgr[..., 0], bgr[..., 1], bgr[..., 2] = 10, 20, 30  # libCZI stores blue, green, red
    with pyczi.create_czi(str(path), exist_ok=True) as writer:
        writer.write(bgr, plane={"T": 0, "C": 0, "Z": 0})
        writer.write_metadata(channel_names={0: "Brightfield"})
    with open_reader(path) as reader:
        md = reader.metadata
        assert (md.n_channels, md.dtype) == (3, "uint8")
        assert md.channel_names == ("Brightfield:R", "Brightfield:G", "Brightfield:B")
        assert [int(reader.read_frame(0, 0, c)[0, 0]) for c in range(3)] == [30, 20, 10]


def test_channels_of_mixed_bit_depth_read_at_the_widest(tmp_path: Path) -> None:
    path = tmp_path / "mixed.czi"
    with pyczi.create_czi(str(path), exist_ok=True) as writer:
        writer.write(np.full((6, 7), 200, np.uint8), plane={"T": 0, "C": 0, "Z": 0})
        writer.write(np.full((6, 7), 3000, np.uint16), plane={"T": 0, "C": 1, "Z": 0})
        writer.write_metadata()
    with open_reader(path) as reader:
        assert reader.metadata.dtype == "uint16"
        assert reader.metadata.pixel_size_um is None
        first, second = reader.read_frame(0, 0, 0), reader.read_frame(0, 0, 1)
        assert first.dtype == second.dtype == np.uint16
        assert (first == 200).all() and (second == 3000).all()
