"""Settings from the environment.

Two layers:
- `PlatformSettings`: names every part and every operator relies on
  (`MICROGRAPHIA_DATABASE_URL`, `MICROGRAPHIA_DATA_ROOTS`, ...), plus where each
  service can be reached (`MICROGRAPHIA_<SERVICE>_ADDRESS`).
- `ServerSettings`: how one gRPC server listens; each service subclasses it with
  its own prefix (`MICROGRAPHIA_SLIDES_PORT`, ...).
Defaults work on one machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SERVICE_NAMES = ("microscopy", "analysis", "slides", "inference", "spatial")

DEFAULT_PORTS = {
    "microscopy": 50051,
    "analysis": 50052,
    "slides": 50053,
    "inference": 50054,
    "spatial": 50055,
    "edge": 8000,
}

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/micrographia"


def _address(service: str) -> str:
    return f"127.0.0.1:{DEFAULT_PORTS[service]}"


class PlatformSettings(BaseSettings):
    """Settings shared by every service and the edge (prefix MICROGRAPHIA_)."""

    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Folders microscopy paths may lie in, separated by ":".
    data_roots: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [Path("var/data")])
    slides_dir: Path = Path("var/slides")
    # A checkpoint path, a tiatoolbox pretrained name, or "random" (tests, benchmarks).
    inference_weights: str = "hovernet_fast-pannuke"
    # Cellpose's weights (inference service): a checkpoint path, a Cellpose model name
    # (fetched by Cellpose where the internet is reachable), or "random" (tests, benchmarks).
    cellpose_weights: str = "cpsam"
    # Bearer keys accepted by the edge, separated by ","; empty turns authentication off.
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Dask scheduler for per-FOV and per-cell work; empty runs a local process pool.
    dask_scheduler: str | None = None

    # Telemetry: "none" creates spans for log correlation but exports nothing.
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_endpoint: str | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Where each service is reached by its peers and the edge.
    microscopy_address: str = _address("microscopy")
    analysis_address: str = _address("analysis")
    slides_address: str = _address("slides")
    inference_address: str = _address("inference")
    spatial_address: str = _address("spatial")

    @field_validator("data_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part) for part in value.split(":") if part.strip()]
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    def address_of(self, service: str) -> str:
        """The address peers use to reach `service`."""
        return getattr(self, f"{service}_address")


class ServerSettings(BaseSettings):
    """How one gRPC server listens. Subclass per service with its env prefix and port."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str = "127.0.0.1"
    port: int = 0
    # Seconds in-flight RPCs get to finish after SIGTERM.
    grace_period_s: float = 10.0
    # Frames and regions travel as single messages up to this size.
    max_message_bytes: int = 64 * 1024 * 1024
    # Clients are asked to reconnect after this long (in-flight calls finish first),
    # so they re-resolve a headless Service and spread over replicas added since.
    max_connection_age_s: float = 300.0
    # Once ready, how often the service checks what it depends on (its database):
    # health says NOT_SERVING while one is unreachable, SERVING when it is back.
    dependency_check_s: float = 2.0
