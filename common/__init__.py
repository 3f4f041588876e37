"""Shared plumbing of every Micrographia service and the edge: settings, server
bootstrap, telemetry, the error model, database access, jobs, executors and bounded
fan-out."""

__version__ = "0.1.0"
