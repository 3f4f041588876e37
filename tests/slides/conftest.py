"""Synthetic slides written with tifffile, and the real WSI files.

The synthetic images have structure everywhere (gradients, a checkerboard, a
disc, stripes), so a tile or region taken from the wrong place or scaled
wrongly does not compare equal by accident.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import tifffile

from common.errors import NotFound
from common.server import ServiceRunner
from edge.settings import EdgeSettings
from services.slides.core import SlideLibrary, SlidesConfig
from services.slides.service import SlidesService
from services.slides.settings import SlidesSettings
from tests.harness import RunningPlatform, free_port

APERIO_SIZE = (2000, 1500)  # width, height: not multiples of any tile size
APERIO_MPP = 0.25
GENERIC_SIZE = (1700, 1100)


def synthetic_rgb(width: int, height: int) -> np.ndarray:
    """height x width x 3 uint8 image with structure at every scale."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = xx * 255 // max(width - 1, 1)
    image[..., 1] = yy * 255 // max(height - 1, 1)
    image[..., 2] = ((xx // 37 + yy // 53) % 2) * 180 + 40
    disc = (yy - height // 2) ** 2 + (xx - width // 3) ** 2 < (min(width, height) // 5) ** 2
    image[disc] = (220, 30, 140)
    stripes = (xx + 2 * yy) % 29 < 4
    image[stripes, 1] = 250
    return image


def pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Levels by 2x decimation, as scanners' pyramids roughly are."""
    out = [image]
    for _ in range(levels - 1):
        out.append(np.ascontiguousarray(out[-1][::2, ::2]))
    return out


def write_aperio_svs(path: Path, width: int, height: int, mpp: float = APERIO_MPP) -> Path:
    """An Aperio-style SVS: tiled JPEG levels as consecutive pages (not SubIFDs),
    a stripped thumbnail as the second page, then label and macro images."""
    levels = pyramid(synthetic_rgb(width, height), 4)
    description = (
        f"Aperio Image Library v12.0.15 \r\n{width}x{height} [0,0 {width}x{height}] "
        f"(256x256) JPEG/RGB Q=80|AppMag = 40|MPP = {mpp:.4f}|Filename = synthetic"
    )
    tiled = {"tile": (256, 256), "compression": "jpeg", "photometric": "rgb", "metadata": None}
    label = np.full((120, 300, 3), 235, np.uint8)
    label[40:80, 40:260] = (10, 10, 10)
    with tifffile.TiffWriter(path) as tiff:
        tiff.write(levels[0], description=description, **tiled)
        tiff.write(
            levels[3],
            compression="jpeg",
            photometric="rgb",
            metadata=None,
            description=f"Aperio Image Library v12.0.15 \r\n{width}x{height} -> thumbnail",
        )
        for level in levels[1:]:
            tiff.write(level, description="Aperio Image Library v12.0.15 ", **tiled)
        tiff.write(
            label,
            compression="lzw",
            photometric="rgb",
            metadata=None,
            subfiletype=1,
            description="Aperio Image Library v12.0.15 \r\nlabel 300x120",
        )
        tiff.write(
            label[:, ::-1],
            compression="jpeg",
            photometric="rgb",
            metadata=None,
            subfiletype=9,
            description="Aperio Image Library v12.0.15 \r\nmacro 300x120",
        )
    return path


def write_generic_tiff(path: Path, width: int, height: int, levels: int = 3) -> Path:
    """A generic pyramidal tiled TIFF without resolution tags (so no mpp)."""
    images = pyramid(synthetic_rgb(width, height)[:, ::-1].copy(), levels)
    with tifffile.TiffWriter(path) as tiff:
        for index, image in enumerate(images):
            tiff.write(
                image,
                tile=(256, 256),
                compression="jpeg",
                photometric="rgb",
                subfiletype=1 if index else 0,
                metadata=None,
            )
    return path


def blank_out_tile(source: Path, target: Path, tile_index: int) -> Path:
    """Copy of an SVS whose level-0 tile `tile_index` is missing (byte count 0):
    OpenSlide renders it transparent."""
    shutil.copyfile(source, target)
    with tifffile.TiffFile(target) as tiff:
        tag = tiff.pages[0].tags["TileByteCounts"]
        code = {3: "H", 4: "I", 16: "Q"}[int(tag.dtype)]  # SHORT, LONG, LONG8
        offset = tag.valueoffset + tile_index * struct.calcsize(code)
        byteorder = tiff.byteorder
    with open(target, "r+b") as file:
        file.seek(offset)
        file.write(struct.pack(byteorder + code, 0))
    return target


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synthetic-slides")


@pytest.fixture(scope="session")
def aperio_svs(synthetic_dir: Path) -> Path:
    return write_aperio_svs(synthetic_dir / "aperio.svs", *APERIO_SIZE)


@pytest.fixture(scope="session")
def aperio_with_hole(aperio_svs: Path, synthetic_dir: Path) -> Path:
    """The Aperio slide with level-0 tile (col 2, row 1) missing: pixels 512..767 x 256..511."""
    columns = -(-APERIO_SIZE[0] // 256)
    return blank_out_tile(aperio_svs, synthetic_dir / "aperio-hole.svs", columns * 1 + 2)


@pytest.fixture(scope="session")
def generic_tiff(synthetic_dir: Path) -> Path:
    return write_generic_tiff(synthetic_dir / "generic.tif", *GENERIC_SIZE)


ZIP_BOMB_UNPACKED = 256 * 1024 * 1024


def write_zip_bomb(path: Path, unpacked: int = ZIP_BOMB_UNPACKED) -> Path:
    """A zipped "MIRAX slide": a dummy .mrxs beside `unpacked` bytes of zeros, which
    deflate about a thousandfold (256 MiB -> 256 KiB), written in streaming pieces."""
    block = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("case/slide.mrxs", b"[GENERAL]\n")
        with archive.open("case/slide/Data0000.dat", "w", force_zip64=True) as member:
            for _ in range(unpacked // len(block)):
                member.write(block)
    return path


@pytest.fixture(scope="session")
def zip_bomb(synthetic_dir: Path) -> Path:
    return write_zip_bomb(synthetic_dir / "bomb.zip")


@pytest.fixture(scope="session")
def wsi_dir(shared_data: Path) -> Path:
    folder = shared_data / "wsi"
    if not folder.is_dir():
        pytest.skip(f"real whole-slide images not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def real_ndpi(wsi_dir: Path) -> Path:
    return wsi_dir / "stritt-test3-DAPI-2-387.ndpi"


@pytest.fixture(scope="session")
def real_generic_tiff(wsi_dir: Path) -> Path:
    return wsi_dir / "derived-OS-1-detail.generic-tiled.tif"


@pytest.fixture(scope="session")
def real_ome_tiff(wsi_dir: Path) -> Path:
    return wsi_dir / "qupath-OS-1-detail.ome.tif"


LibraryFactory = Callable[..., SlideLibrary]


@pytest.fixture
def make_library(tmp_path: Path) -> Iterator[LibraryFactory]:
    """A SlideLibrary over a fresh slides folder; `slides` maps ids to existing files
    (read in place, never copied), otherwise the store's own layout is used."""
    libraries: list[SlideLibrary] = []

    def make(slides: dict[str, Path] | None = None, **settings: object) -> SlideLibrary:
        config = SlidesConfig(slides_dir=tmp_path / "slides", **settings)
        locate = None
        if slides is not None:

            def locate(slide_id: str) -> Path:
                if slide_id not in slides:
                    raise NotFound(f"slide {slide_id} not found")
                return slides[slide_id]

        library = SlideLibrary(config, locate=locate)
        libraries.append(library)
        return library

    yield make
    for library in libraries:
        library.close()


# ------------------------------------------------------------------ the running service


@dataclass
class SlidesPlatform:
    """The platform's slides service and edge, as the service and API tests use them."""

    api: httpx.Client
    slides_dir: Path
    slides_address: str

    def upload(self, path: Path, filename: str | None = None) -> httpx.Response:
        """POST a file as the multipart field `file`, under `filename` sent verbatim."""
        return self.upload_data(path.read_bytes(), filename or path.name)

    def upload_data(self, data: bytes, filename: str) -> httpx.Response:
        return upload_bytes(self.api, data, filename)

    def upload_ok(self, path: Path, filename: str | None = None) -> dict:
        response = self.upload(path, filename)
        assert response.status_code == 201, response.text
        return response.json()

    def entries(self) -> set[str]:
        """What lies in the slides folder (the thumbnail cache's contents aside)."""
        return {entry.name for entry in self.slides_dir.iterdir()}


def multipart_body(data: bytes, filename: str, boundary: str = "slides-test-boundary") -> bytes:
    """A multipart/form-data body with one `file` field; the filename goes out unaltered
    (HTTP clients may tidy it up, and what a hostile client sends is the point)."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode()


def upload_bytes(api: httpx.Client, data: bytes, filename: str) -> httpx.Response:
    boundary = "slides-test-boundary"
    return api.post(
        "/api/slides/upload",
        content=multipart_body(data, filename, boundary),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


@pytest.fixture(scope="module")
def slides(platform: RunningPlatform) -> Iterator[SlidesPlatform]:
    with httpx.Client(base_url=platform.base_url, timeout=60) as api:
        yield SlidesPlatform(api, Path(platform.platform.slides_dir), platform.address("slides"))


@dataclass
class LimitedSlides:
    """A second slides service with a small upload limit, behind its own edge."""

    base_url: str
    slides_dir: Path
    limit: int
    edge_port: int


UPLOAD_LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def limited_slides(
    platform: RunningPlatform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LimitedSlides]:
    """Slides with MICROGRAPHIA_SLIDES_MAX_UPLOAD_BYTES lowered to 1 MiB: its own
    service (same database, its own folder) and edge, so the shared platform keeps
    the default limit."""
    slides_dir = tmp_path_factory.mktemp("limited-slides")
    # Debris of uploads a crash (kill -9) interrupted a moment ago, mid-write and
    # mid-unzip: no live process holds their locks, so the service sweeps them at start.
    (slides_dir / ".upload-0123456789abcdef.part").write_bytes(b"half a slide")
    (slides_dir / ".upload-0123456789abcdef.lock").write_bytes(b"")
    (slides_dir / ".upload-fedcba9876543210.d" / "case").mkdir(parents=True)
    (slides_dir / ".upload-fedcba9876543210.d" / "case" / "slide.mrxs").write_bytes(b"x")
    settings = SlidesSettings(
        host="127.0.0.1", port=0, grace_period_s=1, max_upload_bytes=UPLOAD_LIMIT
    )
    runner = ServiceRunner(
        SlidesService, settings, platform.platform.model_copy(update={"slides_dir": slides_dir})
    )
    platform.loop.run(runner.start())
    edge = EdgeSettings(port=free_port())
    try:
        with platform.extra_edge(edge, slides_address=runner.address) as base_url:
            yield LimitedSlides(base_url, slides_dir, UPLOAD_LIMIT, edge.port)
    finally:
        platform.loop.run(runner.stop(grace=1))
