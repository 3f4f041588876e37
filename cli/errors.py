"""What can go wrong talking to the edge, and the exit code each failure gets."""

from __future__ import annotations

from typing import Any

# Exit codes, documented in `micrographia --help`.
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure the command reports as one line and an exit code, never a traceback."""

    exit_code = EXIT_FAILURE

    def __init__(self, error_code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.details = details or {}

    def as_json(self) -> dict[str, Any]:
        return {
            "success": False,
            "error_code": self.error_code,
            "error": self.message,
            "details": self.details,
        }


class ApiError(CliError):
    """The edge answered with an error body (both documented shapes are read)."""

    def __init__(self, status: int, error_code: str, message: str, details=None) -> None:
        super().__init__(error_code, message, details)
        self.status = status

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "status": self.status}


class EdgeUnreachable(CliError):
    exit_code = EXIT_UNREACHABLE

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            "EDGE_UNREACHABLE",
            f"cannot reach the edge at {url} ({reason}); is it running? "
            "Point at it with --url or MICROGRAPHIA_URL",
            {"url": url},
        )


class JobFailed(CliError):
    """A job the command waited for ended failed or cancelled."""


class UsageError(CliError):
    """A bad value the API never saw (unreadable config, malformed --box): click's
    usage exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__("INVALID_PARAMETERS", message, details)
