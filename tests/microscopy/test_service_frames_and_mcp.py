"""Frame previews (GET /api/processing/frame) and the MCP tools, through the real edge."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from mcp import Client
from PIL import Image

from services.microscopy.core import open_reader, render_png
from tests.microscopy.conftest import CZI_SCENES, CZI_TIMELAPSE, REAL_FILES
from tests.microscopy.edge_api import error_of


def png_of(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.mode == "L"
    return np.asarray(image)


@pytest.fixture(scope="module")
def time_lapse(data_root: Path) -> Path:
    """T=3, C=2, 60 x 80: a bright square that moves with t, one corner per channel."""
    frames = np.full((3, 2, 60, 80), 100, np.uint16)
    for t in range(3):
        frames[t, 0, 10 : 20 + 10 * t, 10 : 30 + 10 * t] = 5000
        frames[t, 1, 40:, 60:] = 3000 + 100 * t
    path = data_root / "frames" / "lapse.ome.tif"
    path.parent.mkdir(exist_ok=True)
    tifffile.imwrite(path, frames, ome=True, metadata={"axes": "TCYX"})
    return path


@pytest.mark.parametrize("relative", REAL_FILES)
def test_frame_png_of_every_real_file(edge, real_file, relative: str) -> None:
    path = real_file(relative)
    with open_reader(path) as reader:
        md = reader.metadata
        fov = md.n_fovs - 1
        height, width = reader.frame_shape(fov)
        expected = render_png(reader.read_frame(fov, md.n_frames - 1, 0, md.n_z // 2))
    params = {"file_path": str(path), "fov": fov, "t": md.n_frames - 1, "z": md.n_z // 2}
    response = edge.get("/api/processing/frame", params=params)
    assert png_of(response).shape == (height, width)
    assert response.content == expected.png  # the core's picture, untouched on the way
    assert float(response.headers["x-display-max"]) == expected.display_max


def test_frames_differ_and_contrast_is_reported(edge, time_lapse: Path) -> None:
    def frame(**params):
        return edge.get("/api/processing/frame", params={"file_path": str(time_lapse), **params})

    first, other_channel = frame(t=0, channel=0), frame(t=0, channel=1)
    assert png_of(first).shape == (60, 80)
    assert not np.array_equal(png_of(first), png_of(other_channel))
    assert not np.array_equal(png_of(first), png_of(frame(t=2, channel=0)))
    low, high = float(first.headers["x-display-min"]), float(first.headers["x-display-max"])
    assert (low, high) == (100, 5000)
    narrow = frame(low_percentile=0, high_percentile=50)  # most pixels are background
    assert (narrow.headers["x-display-min"], narrow.headers["x-display-max"]) == ("100.0", "100.0")


def test_frame_max_size_shrinks_the_longest_edge(edge, real_file) -> None:
    path = real_file(CZI_TIMELAPSE)  # 170 x 240
    response = edge.get("/api/processing/frame", params={"file_path": str(path), "max_size": 120})
    assert png_of(response).shape == (85, 120)


def test_frame_of_czi_scenes_of_different_sizes(edge, real_file) -> None:
    path = real_file(CZI_SCENES)
    with open_reader(path) as reader:
        shapes = [reader.frame_shape(fov) for fov in range(reader.metadata.n_fovs)]
    for fov, shape in enumerate(shapes):
        params = {"file_path": str(path), "fov": fov}
        assert png_of(edge.get("/api/processing/frame", params=params)).shape == shape


# ---------------------------------------------------------------- MCP


def test_mcp_load_microscopy_and_preview_frame(platform, real_file, time_lapse: Path) -> None:
    czi = str(real_file(CZI_TIMELAPSE))

    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            metadata = await client.call_tool("load_microscopy", {"file_path": czi})
            preview = await client.call_tool(
                "preview_frame", {"file_path": str(time_lapse), "t": 1, "channel": 1}
            )
            small = await client.call_tool("preview_frame", {"file_path": czi, "max_size": 60})
            bad = await client.call_tool("preview_frame", {"file_path": czi, "t": 99})
            outside = await client.call_tool("load_microscopy", {"file_path": "/etc/passwd"})
            return tools, metadata, preview, small, bad, outside

    tools, metadata, preview, small, bad, outside = asyncio.run(session())
    assert {"load_microscopy", "preview_frame", "list_directory", "search_files"} <= tools

    record = json.loads(metadata.content[0].text)
    assert (record["n_fovs"], record["n_frames"], record["n_channels"]) == (1, 3, 2)
    assert (record["shape"], record["dtype"], record["pixel_size_um"]) == (
        [170, 240],
        "uint16",
        pytest.approx(0.0906, rel=1e-3),
    )
    assert record["channel_names"] == ["LED555", "LED470"] and len(record["time_points"]) == 3

    (image,) = preview.content
    assert (image.type, image.mime_type) == ("image", "image/png")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(image.data))))
    assert pixels.shape == (60, 80)
    # the same picture the REST route gives
    assert np.asarray(Image.open(io.BytesIO(base64.b64decode(small.content[0].data)))).shape == (
        42,
        60,
    )
    assert bad.is_error and "INVALID_PARAMETERS" in bad.content[0].text
    assert outside.is_error and "FORBIDDEN" in outside.content[0].text


def test_mcp_preview_equals_the_rest_frame(platform, edge, time_lapse: Path) -> None:
    async def preview():
        async with Client(f"{platform.base_url}/mcp") as client:
            arguments = {"file_path": str(time_lapse), "t": 2, "max_size": 0}
            return await client.call_tool("preview_frame", arguments)

    png = base64.b64decode(asyncio.run(preview()).content[0].data)
    rest = edge.get("/api/processing/frame", params={"file_path": str(time_lapse), "t": 2})
    assert png == rest.content


def test_mcp_list_directory_and_search_files(platform, shared_data: Path) -> None:
    async def session():
        async with Client(f"{platform.base_url}/mcp") as client:
            listing = await client.call_tool(
                "list_directory",
                {"directory_path": str(shared_data / "nd2"), "filter_extensions": [".nd2"]},
            )
            found = await client.call_tool(
                "search_files", {"search_path": str(shared_data), "pattern": "**/*.czi"}
            )
            return json.loads(listing.content[0].text), json.loads(found.content[0].text)

    listing, found = asyncio.run(session())
    assert [item["name"] for item in listing["items"]] == [
        "arcadia-example-multichannel.nd2",
        "arcadia-example-timelapse.nd2",
        "cluster.nd2",
    ]
    assert sorted(Path(item["path"]).name for item in found["files"]) == [
        "aicspylibczi-CD_s_1_t_3_c_2_z_5.czi",
        "czitools-S3_1Pos_2Mosaic_T1_Z1_CH1.czi",
    ]


def test_frame_errors_come_back_as_json(edge, time_lapse: Path) -> None:
    response = edge.get("/api/processing/frame", params={"file_path": str(time_lapse), "t": 3})
    body = error_of(response, 400, "INVALID_PARAMETERS")
    assert "t index 3 is out of range" in body["error"]
