"""Settings of the spatial service (prefix MICROGRAPHIA_SPATIAL_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class SpatialSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_SPATIAL_", extra="ignore")

    port: int = DEFAULT_PORTS["spatial"]
