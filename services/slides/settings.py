"""Settings of the slides service (prefix MICROGRAPHIA_SLIDES_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class SlidesSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_SLIDES_", extra="ignore")

    port: int = DEFAULT_PORTS["slides"]
