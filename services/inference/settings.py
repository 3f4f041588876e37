"""Settings of the inference service (prefix MICROGRAPHIA_INFERENCE_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class InferenceSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_INFERENCE_", extra="ignore")

    port: int = DEFAULT_PORTS["inference"]
