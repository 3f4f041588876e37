"""Slides of painted nuclei with known ground truth (see testing/oracle.py).

Nuclei are discs painted at level 0 at known centres, radii and types, on a
light background; positions are chosen in model space (0.25 um/px) so that
they straddle patch seams (every 164 px), tile seams and the region's edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile

from testing.oracle import BACKGROUND, TYPE_COLOURS


@dataclass(frozen=True)
class TrueNucleus:
    x: float  # level-0 centre
    y: float
    radius: float  # level-0 pixels
    cell_type: int

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        yy, xx = np.ogrid[: shape[0], : shape[1]]
        return (xx - self.x) ** 2 + (yy - self.y) ** 2 <= self.radius**2


def paint(width: int, height: int, nuclei: list[TrueNucleus]) -> np.ndarray:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND
    for nucleus in nuclei:
        image[nucleus.mask((height, width))] = TYPE_COLOURS[nucleus.cell_type]
    return image


def true_contour_area(nucleus: TrueNucleus, shape: tuple[int, int]) -> float:
    """Shoelace area of the painted disc's pixel contour (the pipeline's definition)."""
    mask = nucleus.mask(shape).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return float(cv2.contourArea(contours[0]))


def pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    out = [image]
    for _ in range(levels - 1):
        previous = out[-1]
        out.append(
            cv2.resize(
                previous,
                (previous.shape[1] // 2, previous.shape[0] // 2),
                interpolation=cv2.INTER_AREA,
            )
        )
    return out


def array_reader(levels: list[np.ndarray]):
    """A LevelReader over in-memory levels (downsample 2**level)."""

    def read(level: int, x: int, y: int, width: int, height: int) -> np.ndarray:
        d = 2**level
        x0, y0 = x // d, y // d
        return levels[level][y0 : y0 + -(-height // d), x0 : x0 + -(-width // d)].copy()

    return read


def write_aperio(path: Path, image: np.ndarray, mpp: float | None, levels: int = 3) -> Path:
    """A pyramidal Aperio-style TIFF (lossless tiles) that OpenSlide opens;
    without `mpp` it is a generic tiled TIFF that has none."""
    images = pyramid(image, levels)
    height, width = image.shape[:2]
    tiled = {"tile": (256, 256), "compression": "zlib", "photometric": "rgb", "metadata": None}
    with tifffile.TiffWriter(path) as tiff:
        for index, level in enumerate(images):
            if mpp is None:
                tiff.write(level, subfiletype=1 if index else 0, **tiled)
            elif index == 0:
                description = (
                    f"Aperio Image Library v12.0.15 \r\n{width}x{height} [0,0 {width}x{height}] "
                    f"(256x256) RAW|AppMag = 40|MPP = {mpp:.4f}|Filename = painted"
                )
                tiff.write(level, description=description, **tiled)
            else:
                tiff.write(level, description="Aperio Image Library v12.0.15 ", **tiled)
    return path


# A small whole slide for the interfaces' tests: eight nuclei in the oracle's colours
# (centres, level-0 px) on pink tissue in the top-left 256 px, glass elsewhere.
SMALL_SLIDE_NUCLEI = [
    TrueNucleus(x, y, 8, 1 + index % 5)
    for index, (x, y) in enumerate(
        [(60, 60), (120, 60), (180, 60), (60, 140), (120, 140), (180, 140), (90, 200), (170, 200)]
    )
]


def write_small_slide(path: Path) -> Path:
    """600 x 300 px at 0.25 um/px: `SMALL_SLIDE_NUCLEI` on tissue in one 256 px region."""
    image = np.empty((300, 600, 3), np.uint8)
    image[:] = (242, 240, 244)  # glass
    image[24:232, 24:232] = (200, 120, 180)  # tissue, too light to be nuclear
    for nucleus in SMALL_SLIDE_NUCLEI:
        image[nucleus.mask(image.shape[:2])] = TYPE_COLOURS[nucleus.cell_type]
    return write_aperio(path, image, 0.25)
