"""Settings of the slides service (prefix MICROGRAPHIA_SLIDES_).

Where slides live is the platform's `MICROGRAPHIA_SLIDES_DIR`
(common.settings.PlatformSettings.slides_dir); everything here tunes the service.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings
from services.slides.core import SlidesConfig

MIB = 1024 * 1024


class SlidesSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_SLIDES_", extra="ignore")

    port: int = DEFAULT_PORTS["slides"]
    # Largest upload accepted (413 beyond it).
    max_upload_bytes: int = Field(default=10 * 1024**3, gt=0)
    # What a zipped slide may unpack to in all (413 beyond it), checked while
    # unpacking, and how many times its compressed size a member may expand.
    max_unzipped_bytes: int = Field(default=4 * 1024**3, gt=0)
    max_zip_ratio: float = Field(default=50.0, ge=1)
    # Encoded Deep Zoom tiles kept in memory.
    tile_cache_mb: int = Field(default=256, ge=0)
    # Slides kept open (each holds OpenSlide's structures and a Deep Zoom generator).
    open_slides: int = Field(default=16, ge=1)
    # JPEG quality of tiles (75: the openslide-python example server's) and thumbnails.
    tile_quality: int = Field(default=75, ge=1, le=100)
    thumbnail_quality: int = Field(default=85, ge=1, le=100)
    # Disk kept for cached thumbnails (least recently used deleted first).
    thumbnail_cache_mb: int = Field(default=256, ge=0)
    # Threads for blocking work (OpenSlide, JPEG, disk); never the event loop.
    worker_threads: int = Field(default=8, ge=1)
    # Microns per pixel assumed for a slide whose file records none (Slidekick's
    # fallback; 0.25, a 40x scan): slides then say `mpp_assumed`.
    assumed_mpp: float = Field(default=0.25, gt=0, le=1000)
    # Deadline of calls to peers (the spatial service, on delete).
    peer_timeout_s: float = Field(default=10.0, gt=0)

    def core_config(self, slides_dir: Path) -> SlidesConfig:
        """The domain core's configuration for a slides folder."""
        return SlidesConfig(
            slides_dir=slides_dir,
            max_upload_bytes=self.max_upload_bytes,
            max_unzipped_bytes=self.max_unzipped_bytes,
            max_zip_ratio=self.max_zip_ratio,
            open_slides=self.open_slides,
            tile_cache_bytes=self.tile_cache_mb * MIB,
            tile_quality=self.tile_quality,
            thumbnail_quality=self.thumbnail_quality,
            thumbnail_cache_bytes=self.thumbnail_cache_mb * MIB,
            assumed_mpp=self.assumed_mpp,
        )
