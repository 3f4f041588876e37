"""Settings of the spatial service (prefix MICROGRAPHIA_SPATIAL_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings
from services.spatial.core.regions import MAX_REGION_SIZE, MIN_REGION_SIZE


class SpatialSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_SPATIAL_", extra="ignore")

    port: int = DEFAULT_PORTS["spatial"]
    # Deadline of calls to the slides service (slide lookups).
    peer_timeout_s: float = Field(default=10.0, gt=0)
    # Deadline of one viewport segmentation (HoVerNet on a CPU is slow).
    inference_timeout_s: float = Field(default=3600.0, gt=0)
    # Whole-slide analysis: edge of one region (level-0 pixels) when a request says 0.
    slide_analysis_region_size: int = Field(default=4096, ge=MIN_REGION_SIZE, le=MAX_REGION_SIZE)
    # Regions segmented at once over the inference channel (round-robin over every
    # replica its address resolves to), so this many replicas can be busy at once.
    slide_analysis_concurrency: int = Field(default=4, ge=1)
    # How long a region whose inference call fails as UNAVAILABLE (a replica gone,
    # or the slides service the inference reads from) is retried, with backoff,
    # before the job fails; each retry goes, round-robin, to another replica. The
    # job's progress says "waiting for the <service> service" meanwhile.
    slide_analysis_unavailable_retry_s: float = Field(default=300.0, ge=0)
    # Longest edge of the thumbnail the tissue mask is computed on, pixels.
    tissue_mask_size: int = Field(default=2048, ge=64, le=4096)
    # How often a running job tells the database it is alive (and learns of a cancel
    # asked for through another replica).
    job_heartbeat_s: float = Field(default=5.0, gt=0)
    # A running job whose process has not reported for this long is resumed by another.
    job_stale_after_s: float = Field(default=30.0, gt=0)
