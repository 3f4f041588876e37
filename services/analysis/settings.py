"""Settings of the analysis service (prefix MICROGRAPHIA_ANALYSIS_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class AnalysisSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_ANALYSIS_", extra="ignore")

    port: int = DEFAULT_PORTS["analysis"]
