"""Log lines that name the trace they belong to, as text or as JSON (`[telemetry] log_format`).

A filter on the stderr handler stamps each record with the current span's `trace_id` and
`span_id` (empty outside a span), so a line from a refused call leads to its trace and its
audit record (which carries the same trace id). It runs only for records that are emitted, so
a quiet log costs nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from opentelemetry import trace

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s%(trace)s: %(message)s"


class TraceContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        trace_id = span_id = stamp = ""
        if context.is_valid:
            trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
            stamp = f" [trace_id={trace_id} span_id={span_id}]"
        record.__dict__.update(trace_id=trace_id, span_id=span_id, trace=stamp)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace_id/span_id when in a span."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        trace_id = record.__dict__.get("trace_id")
        if trace_id:
            line["trace_id"] = trace_id
            line["span_id"] = record.__dict__.get("span_id")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def install(log_format: str = "text") -> None:
    """Stamp and format every record the root logger's handlers write (set up by `main`)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, TraceContextFilter) for existing in handler.filters):
            handler.addFilter(TraceContextFilter())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(logging.Formatter(TEXT_FORMAT))
