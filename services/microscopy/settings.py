"""Settings of the microscopy service (prefix MICROGRAPHIA_MICROSCOPY_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class MicroscopySettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_MICROSCOPY_", extra="ignore")

    port: int = DEFAULT_PORTS["microscopy"]
