"""Process-wide logging: one line per record, with the current trace id so a log
line can be found from a trace and the other way round."""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry import trace

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s] %(message)s"


class _TraceContextFilter(logging.Filter):
    """Stamps every record with the active span's trace id ('-' outside a span)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else "-"
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "trace_id": getattr(record, "trace_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send records to stderr; safe to call more than once (all-in-one mode, tests)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_TraceContextFilter())
    handler.setFormatter(_JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_micrographia", False):
            root.removeHandler(existing)
    handler._micrographia = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
