"""Settings of the edge (prefix MICROGRAPHIA_EDGE_)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from common.settings import DEFAULT_PORTS

LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"]


class EdgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_EDGE_", extra="ignore")

    # Addresses to listen on (comma-separated in the environment): both loopbacks.
    host: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    port: int = DEFAULT_PORTS["edge"]
    # Refuse clients that are not on this machine (the reference's default).
    localhost_only: bool = True
    # Host headers accepted; "*" accepts any (behind a proxy that checks them).
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [*LOOPBACK_HOSTS, "[::1]"]
    )
    # Browser origins (e.g. "https://lab.example") that may call the API: CORS
    # answers for them, and they may change state. While `localhost_only`, every
    # origin on the loopback interface may too (a dev server on
    # http://localhost:5173); opened beyond localhost, only these (edge.security).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Deadline of every backend call that does not set its own.
    request_timeout_s: float = 30.0
    # Deadline of one backend health check (also of /health's job count).
    health_timeout_s: float = 1.0
    # Deadline of each backend's part of a listing over every backend (/jobs,
    # /metrics): a backend slower than this is named as unavailable.
    fanout_timeout_s: float = 3.0
    # Deadline of long calls that end on their own (viewport analysis, uploads);
    # job progress streams have none: they live as long as the job.
    stream_timeout_s: float = 3600.0
    # Seconds of silence after which an SSE stream sends a keep-alive comment.
    sse_keepalive_s: float = 15.0
    # Deep Zoom tiles kept by the edge (bytes budget, and seconds a tile is trusted:
    # a slide deleted through another edge replica stops being served after it).
    tile_cache_mb: int = 128
    tile_cache_ttl_s: float = 300.0
    # Largest JSON request body; a larger one is refused (413) before it is read.
    # Uploads are not JSON and have their own limits.
    max_json_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    # Largest gRPC message to or from a backend.
    max_message_bytes: int = 64 * 1024 * 1024

    @field_validator("host", "trusted_hosts", "cors_origins", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip() for host in value.split(",") if host.strip()]
        return value
