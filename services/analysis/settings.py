"""Settings of the analysis service (prefix MICROGRAPHIA_ANALYSIS_).

Trace CSVs must lie in the platform's `MICROGRAPHIA_DATA_ROOTS`; with
`MICROGRAPHIA_DASK_SCHEDULER` set, large fits run on that Dask cluster.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import DEFAULT_PORTS, ServerSettings


class AnalysisSettings(ServerSettings):
    model_config = SettingsConfigDict(env_prefix="MICROGRAPHIA_ANALYSIS_", extra="ignore")

    port: int = DEFAULT_PORTS["analysis"]
    # Threads for blocking work: reading CSVs, fitting small jobs, writing results, drawing.
    worker_threads: int = Field(4, ge=1)
    # Cells per unit of parallel work and of progress.
    chunk_cells: int = Field(1000, ge=1)
    # Jobs with at least this many cells (and parallel: true) go to the process pool
    # (or Dask); smaller ones are fitted on a worker thread, which starts faster.
    pool_min_cells: int = Field(20000, ge=1)
    # Processes of the local pool; 0: one less than the CPUs. A request's n_workers
    # caps how many of its chunks run at once.
    pool_workers: int = Field(0, ge=0)
    # A running job whose process has not reported for this long is resumed by another.
    job_stale_after_s: float = Field(30.0, gt=0)
    # How often a process tells the database its jobs are alive.
    job_heartbeat_s: float = Field(5.0, gt=0)
    # Trace CSVs kept parsed in memory (a job and the pictures of its cells share one read).
    trace_cache_size: int = Field(2, ge=1)
