"""Deep Zoom descriptors and tiles, rendered by openslide's DeepZoomGenerator.

The layout is the one the REST contract (spec/slidekick-api.md) documents and
OpenSeadragon expects: 254 px tiles with a 1 px overlap (256 px on the wire
for interior tiles), JPEG, the whole slide (limit_bounds=False). Tile pixels
are exactly DeepZoomGenerator.get_tile's; JPEG quality 75 is the one the
openslide-python example deepzoom server uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import openslide
from openslide.deepzoom import DeepZoomGenerator

from common.errors import NotFound

from .images import encode_jpeg

TILE_SIZE = 254
OVERLAP = 1
TILE_FORMAT = "jpeg"
TILE_CONTENT_TYPE = "image/jpeg"
DEFAULT_TILE_QUALITY = 75
DEEPZOOM_NAMESPACE = "http://schemas.microsoft.com/deepzoom/2008"

# Laid out as in the contract; every value is an integer, so nothing needs escaping.
_DZI_TEMPLATE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<Image xmlns="{DEEPZOOM_NAMESPACE}"\n'
    f'       Format="{TILE_FORMAT}" Overlap="{OVERLAP}" TileSize="{TILE_SIZE}">\n'
    '  <Size Width="{width}" Height="{height}"/>\n'
    "</Image>\n"
)


@dataclass(frozen=True)
class DeepZoomDescriptor:
    """The DZI document and its facts (proto GetDeepZoomDescriptorResponse)."""

    xml: str
    tile_size: int
    overlap: int
    format: str
    width: int
    height: int
    level_count: int


def new_deepzoom_generator(slide: openslide.AbstractSlide) -> DeepZoomGenerator:
    """The generator behind every descriptor and tile of `slide`."""
    return DeepZoomGenerator(slide, tile_size=TILE_SIZE, overlap=OVERLAP, limit_bounds=False)


def dzi_xml(width: int, height: int) -> str:
    """The DZI XML descriptor of an image of `width` x `height` level-0 pixels."""
    return _DZI_TEMPLATE.format(width=int(width), height=int(height))


def describe(generator: DeepZoomGenerator) -> DeepZoomDescriptor:
    """Descriptor of the Deep Zoom pyramid of a generator built by new_deepzoom_generator."""
    width, height = generator.level_dimensions[-1]
    return DeepZoomDescriptor(
        xml=dzi_xml(width, height),
        tile_size=TILE_SIZE,
        overlap=OVERLAP,
        format=TILE_FORMAT,
        width=width,
        height=height,
        level_count=generator.level_count,
    )


def check_tile_address(generator: DeepZoomGenerator, level: int, col: int, row: int) -> None:
    """NotFound unless (level, col, row) names a tile of the pyramid.

    NotFound rather than InvalidArgument: to a viewer a tile address is a URL
    (.../dzi_files/{level}/{col}_{row}.jpeg) and a missing tile is a 404.
    """
    if not 0 <= level < generator.level_count:
        raise NotFound(
            f"Deep Zoom level {level} does not exist (levels 0..{generator.level_count - 1})",
            level=level,
        )
    cols, rows = generator.level_tiles[level]
    if not (0 <= col < cols and 0 <= row < rows):
        raise NotFound(
            f"tile {col}_{row} does not exist at Deep Zoom level {level} "
            f"({cols} columns x {rows} rows)",
            level=level,
            col=col,
            row=row,
        )


def render_tile(
    generator: DeepZoomGenerator,
    level: int,
    col: int,
    row: int,
    quality: int = DEFAULT_TILE_QUALITY,
) -> bytes:
    """JPEG bytes of one tile; NotFound outside the pyramid.

    The slide's ICC profile, if any, is embedded (not applied), so the pixels
    stay those of DeepZoomGenerator.get_tile and colour-managed viewers still
    show true colours.
    """
    check_tile_address(generator, level, col, row)
    tile = generator.get_tile(level, (col, row))
    return encode_jpeg(tile, quality, icc_profile=tile.info.get("icc_profile"))
