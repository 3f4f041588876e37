"""Settings of the microscopy service (prefix MICROGRAPHIA_MICROSCOPY_).

The folders requests may touch are the platform's `MICROGRAPHIA_DATA_ROOTS`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class MicroscopySettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_MICROSCOPY_", extra="ignore")

    port: int = DEFAULT_PORTS["microscopy"]
    # Files kept open for reuse (each reader holds a file handle and parsed metadata).
    reader_cache_size: int = Field(16, ge=1)
    # Readers of one file, so that concurrent requests for it read in parallel.
    readers_per_file: int = Field(4, ge=1)
    # Threads for blocking work: file I/O, decoding, PNG encoding, folder walks.
    worker_threads: int = Field(8, ge=1)
    # Remember files whose metadata was loaded (GET /api/processing/recent-files).
    track_recent_files: bool = True
    # How many recent files to keep; older ones are forgotten.
    recent_files_retention: int = Field(1000, ge=1)
    # Seconds between a running job's heartbeats, and of silence after which a job is
    # taken to be interrupted (its service died) and is resumed or failed.
    job_heartbeat_s: float = Field(5.0, gt=0)
    job_stale_after_s: float = Field(30.0, gt=0)
    # How long a workflow job waits out an outage of the inference service (its
    # Cellpose calls retried with backoff, progress "Waiting for the inference
    # service") before it fails.
    unavailable_retry_s: float = Field(300.0, ge=0)
