"""SlideLibrary: the slides service's domain core behind one object.

It ties the parts together: the store (files on disk), the cache of open
slides, Deep Zoom tiles with their memory cache, disk-cached thumbnails,
scale bars and region reads. Every method takes the slide id of the request,
so the gRPC servicer stays a thin translation.

All methods block (disk, OpenSlide, JPEG) and are thread-safe: the async
servicer runs them in a thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .deepzoom import DEFAULT_TILE_QUALITY, TILE_CONTENT_TYPE, DeepZoomDescriptor, render_tile
from .deepzoom import describe as describe_deepzoom
from .handles import Locator, SlideHandleCache
from .ids import parse_slide_id
from .metadata import associated_image, read_properties
from .models import EncodedImage, SlideFacts, SlideProperties, SlideRecord
from .regions import (
    DEFAULT_BAND_BYTES,
    DEFAULT_CHUNK_BYTES,
    DEFAULT_MAX_REGION_PIXELS,
    RegionHeader,
    RegionStream,
    iter_chunks,
    plan_region,
    read_region_array,
)
from .scale import ASSUMED_MPP, ScaleBar, pixel_size, scale_bar
from .storage import (
    DEFAULT_MAX_UNZIPPED_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    BlockingRunner,
    SlideStore,
    receive_upload,
)
from .thumbnails import (
    DEFAULT_THUMBNAIL_CACHE_BYTES,
    THUMBNAIL_DIR_NAME,
    THUMBNAIL_QUALITY,
    Thumbnail,
    ThumbnailCache,
)
from .tile_cache import DEFAULT_TILE_CACHE_BYTES, TileCache, TileKey
from .unzip import DEFAULT_MAX_RATIO


@dataclass(frozen=True)
class SlidesConfig:
    """Settings of the slides core (the service maps its environment settings here)."""

    slides_dir: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # What a zipped multi-file slide may unpack to, and how many times its
    # compressed size each member may expand (zip bombs; see unzip.py).
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES
    max_zip_ratio: float = DEFAULT_MAX_RATIO
    open_slides: int = 16
    tile_cache_bytes: int = DEFAULT_TILE_CACHE_BYTES
    tile_quality: int = DEFAULT_TILE_QUALITY
    thumbnail_quality: int = THUMBNAIL_QUALITY
    # Disk the thumbnail cache may use (least recently used files go first).
    thumbnail_cache_bytes: int = DEFAULT_THUMBNAIL_CACHE_BYTES
    max_region_pixels: int = DEFAULT_MAX_REGION_PIXELS
    region_chunk_bytes: int = DEFAULT_CHUNK_BYTES
    region_band_bytes: int = DEFAULT_BAND_BYTES
    # Microns per pixel of a slide whose file records none (see scale.pixel_size).
    assumed_mpp: float = ASSUMED_MPP


class SlideLibrary:
    """The slides in one folder, and everything read from them."""

    def __init__(self, config: SlidesConfig, *, locate: Locator | None = None) -> None:
        """`locate` maps a slide id to its file; by default the store's own layout."""
        self.config = config
        self.store = SlideStore(
            config.slides_dir,
            max_upload_bytes=config.max_upload_bytes,
            max_unzipped_bytes=config.max_unzipped_bytes,
            max_zip_ratio=config.max_zip_ratio,
        )
        self.handles = SlideHandleCache(locate or self.store.locate, capacity=config.open_slides)
        self.tiles = TileCache(config.tile_cache_bytes)
        self.thumbnails = ThumbnailCache(
            self.store.slides_dir / THUMBNAIL_DIR_NAME,
            self.handles,
            quality=config.thumbnail_quality,
            max_bytes=config.thumbnail_cache_bytes,
        )

    # Metadata -----------------------------------------------------------------

    def describe(self, slide_id: str) -> SlideFacts:
        """Vendor, size, levels, mpp and objective power.

        Raises InvalidArgument (bad id), NotFound (no such slide),
        InvalidArgument(UNPROCESSABLE_SLIDE) (the file no longer opens).
        The same holds for every method below that takes a slide id.
        """
        with self.handles.lease(parse_slide_id(slide_id)) as handle:
            return handle.facts

    def properties(self, slide_id: str) -> SlideProperties:
        """Every OpenSlide property and the associated image names."""
        with self.handles.lease(parse_slide_id(slide_id)) as handle:
            return read_properties(handle.slide)

    def associated_image(self, slide_id: str, name: str, max_size: int = 0) -> EncodedImage:
        """An associated image as JPEG; NotFound for a name the slide lacks."""
        with self.handles.lease(parse_slide_id(slide_id)) as handle:
            return associated_image(handle.slide, name, max_size)

    # Deep Zoom ----------------------------------------------------------------

    def deepzoom_descriptor(self, slide_id: str) -> DeepZoomDescriptor:
        """The DZI descriptor (254 px JPEG tiles, 1 px overlap)."""
        with self.handles.lease(parse_slide_id(slide_id)) as handle:
            return describe_deepzoom(handle.deepzoom)

    def cached_tile(self, slide_id: str, level: int, col: int, row: int) -> EncodedImage | None:
        """The tile if it is in the memory cache, else None.

        Never touches disk or OpenSlide, so an async caller may ask on its
        event loop and go to a worker thread only on a miss.
        """
        data = self.tiles.get(TileKey(parse_slide_id(slide_id), level, col, row))
        return None if data is None else EncodedImage(image=data, content_type=TILE_CONTENT_TYPE)

    def deepzoom_tile(self, slide_id: str, level: int, col: int, row: int) -> EncodedImage:
        """One JPEG tile, from memory when cached; NotFound outside the pyramid."""
        key = TileKey(parse_slide_id(slide_id), level, col, row)
        data = self.tiles.get(key)
        if data is None:
            with self.handles.lease(key.slide_id) as handle:
                data = render_tile(handle.deepzoom, level, col, row, self.config.tile_quality)
                if not handle.invalidated:
                    self.tiles.put(key, data)
        return EncodedImage(image=data, content_type=TILE_CONTENT_TYPE)

    # Thumbnails and scale bars ------------------------------------------------

    def thumbnail(self, slide_id: str, max_size: int | None = None) -> Thumbnail:
        """JPEG thumbnail, longest edge max_size (None: 200); disk-cached."""
        return self.thumbnails.get(parse_slide_id(slide_id), max_size)

    def scale_bar(self, slide_id: str, target_um: float | None = None, level: int = 0) -> ScaleBar:
        """Pixels spanning target_um (None: 100) at a level, on the assumed mpp
        when the file records none."""
        facts = self.describe(slide_id)
        downsamples = [level_.downsample for level_ in facts.levels]
        mpp, assumed = pixel_size(facts.mpp, self.config.assumed_mpp)
        return scale_bar(mpp, target_um, level, downsamples, mpp_assumed=assumed)

    # Regions ------------------------------------------------------------------

    def open_region(
        self, slide_id: str, x: int, y: int, width: int, height: int, level: int = 0
    ) -> RegionStream:
        """Header now (every check done), RGB bytes in chunks as they are iterated.

        InvalidArgument for an empty region after clamping, a bad level or a
        region over max_region_pixels. The chunk iterator holds the slide open
        only while it runs; iterate it in a worker thread.
        """
        canonical = parse_slide_id(slide_id)
        with self.handles.lease(canonical) as handle:
            header = plan_region(
                handle.slide,
                x,
                y,
                width,
                height,
                level,
                mpp=handle.facts.mpp,
                max_pixels=self.config.max_region_pixels,
            )
        return RegionStream(header=header, chunks=self._region_chunks(canonical, header))

    def read_region(
        self, slide_id: str, x: int, y: int, width: int, height: int, level: int = 0
    ) -> tuple[RegionHeader, np.ndarray]:
        """The same region as one height x width x 3 uint8 array."""
        with self.handles.lease(parse_slide_id(slide_id)) as handle:
            return read_region_array(
                handle.slide,
                x,
                y,
                width,
                height,
                level,
                mpp=handle.facts.mpp,
                max_pixels=self.config.max_region_pixels,
                band_bytes=self.config.region_band_bytes,
            )

    def _region_chunks(self, slide_id: str, header: RegionHeader) -> Iterator[bytes]:
        with self.handles.lease(slide_id) as handle:
            yield from iter_chunks(
                handle.slide,
                header,
                self.config.region_chunk_bytes,
                self.config.region_band_bytes,
            )

    # Storage ------------------------------------------------------------------

    async def receive_upload(
        self,
        filename: str,
        chunks: AsyncIterable[bytes],
        declared_size: int | None = None,
        *,
        run: BlockingRunner = asyncio.to_thread,
    ) -> SlideRecord:
        """Store a slide arriving as an async stream of chunks (see storage.receive_upload)."""
        return await receive_upload(self.store, filename, chunks, declared_size, run=run)

    def delete(self, slide_id: str) -> bool:
        """Remove the slide's files, cached thumbnails and tiles, and close it.

        Returns False when no file was there (the caches are cleared anyway).
        """
        canonical = parse_slide_id(slide_id)
        # Files first: an open racing this delete then finds nothing to open.
        removed = self.store.delete(canonical)
        self.handles.invalidate(canonical)
        self.tiles.invalidate_slide(canonical)
        self.thumbnails.invalidate(canonical)
        return removed

    def close(self) -> None:
        """Close every open slide (at shutdown)."""
        self.handles.close()
