"""Logging set-up: JSON lines on stdout carrying trace_id/span_id, and (separately) OTLP export.

The JSON formatter reads the active span itself instead of using the logging instrumentation's
`inject_trace_context`, because that option stamps otelTraceID/otelSpanID/... onto every record
and the OTLP handler then exports them again as redundant log attributes.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

# Attributes every LogRecord has; anything else on a record came from `extra=` and is domain data.
_STANDARD_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service.name, trace/span ids, extras."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self._service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service.name": self._service_name,
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = format(context.trace_id, "032x")
            line["span_id"] = format(context.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_ATTRS and not key.startswith("otel"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exception.type"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


def configure_stdout_logging(service_name: str, level: str) -> None:
    """Replace the root logger's stream handlers with one JSON-lines handler on stdout."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLineFormatter(service_name))
    root.addHandler(handler)
    # The root logger defaults to WARNING: without this INFO logs never reach any exporter.
    root.setLevel(level.upper())
    # Spans already record every request; uvicorn's access line would only duplicate them.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request with its full URL at INFO: the client span already says it all.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").addFilter(_drop_terminal_colours)
    logging.getLogger("celery.app.trace").addFilter(_drop_celery_context)


def _drop_terminal_colours(record: logging.LogRecord) -> bool:
    # uvicorn attaches an ANSI-coloured copy of its message as `color_message`; exported, it
    # would become a junk log attribute outside our telemetry contract.
    record.__dict__.pop("color_message", None)
    return True


def _drop_celery_context(record: logging.LogRecord) -> bool:
    # Celery attaches `data` (task args/kwargs reprs and, on failure, a traceback) to its task
    # log lines: an unbounded blob that the span for the task already describes better.
    record.__dict__.pop("data", None)
    return True
