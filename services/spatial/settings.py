"""Settings of the spatial service (prefix MICROGRAPHIA_SPATIAL_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class SpatialSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_SPATIAL_", extra="ignore")

    port: int = DEFAULT_PORTS["spatial"]
    # Deadline of calls to the slides service (slide lookups).
    peer_timeout_s: float = Field(default=10.0, gt=0)
    # Deadline of one viewport segmentation (HoVerNet on a CPU is slow).
    inference_timeout_s: float = Field(default=3600.0, gt=0)
    # While a viewport analysis runs, a progress message at least this often.
    progress_interval_s: float = Field(default=0.25, gt=0, le=0.3)
