"""The two table views of the navigator: log records, and a list of recent traces."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from wayfinder.navigator.text import (
    DIM,
    GAP,
    RED,
    YELLOW,
    cell,
    first_line,
    fit,
    format_clock,
    format_ms,
    key_attributes,
    paint,
)
from wayfinder.navigator.tree import TraceSummary, summarize
from wayfinder.store.model import LogRecordRow, SpanRecord

# OTLP severity numbers come in bands of four: 1-4 TRACE ... 21-24 FATAL.
_SEVERITY_BANDS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_SHORT_LEVELS = {"WARNING": "WARN", "CRITICAL": "CRIT"}  # the level column is 5 wide
_LEVEL_STYLES = {"WARN": YELLOW, "ERROR": RED, "CRIT": RED, "FATAL": RED}


def level_name(log: LogRecordRow) -> str:
    """The record's level: its severity text, else the name of its severity number's band."""
    if log.severity_text:
        text = log.severity_text.upper()
        return _SHORT_LEVELS.get(text, text)
    if 1 <= log.severity_number <= 24:
        return _SEVERITY_BANDS[(log.severity_number - 1) // 4]
    return "-"


def render_logs(logs: Sequence[LogRecordRow], color: bool = False, *, width: int = 100) -> str:
    """One line per record: time (UTC), service, level, short span id, message."""
    if not logs:
        return "(no log records)"
    service_width = max(7, min(16, max(len(log.service_name) for log in logs)))
    message_width = max(10, width - (12 + service_width + 5 + 8 + 4 * len(GAP)))
    title = [cell("time (UTC)", 12), cell("service", service_width), cell("level", 5), "span    ", "message"]
    lines = [paint(fit(GAP.join(title), width), DIM, color)]
    for log in logs:
        level = level_name(log)
        # Key attributes (error.type, region...) say why the line matters; order.id is too long.
        message = " ".join([first_line(log.body), *key_attributes(log.attributes)])
        row = [
            paint(format_clock(log.time_unix_nano), DIM, color),
            cell(log.service_name, service_width),
            paint(cell(level, 5), _LEVEL_STYLES.get(level, ""), color),
            paint(cell((log.span_id or "-")[:8], 8), DIM, color),
            fit(message, message_width),
        ]
        lines.append(GAP.join(row))
    return "\n".join(lines)


def render_trace_list(traces: Iterable[Sequence[SpanRecord]], width: int = 100, color: bool = False) -> str:
    """A short table of traces (each given as its spans), in the order given."""
    return render_summaries([summarize(spans) for spans in traces if spans], width, color)


def render_summaries(summaries: Sequence[TraceSummary], width: int = 100, color: bool = False) -> str:
    """A short table of trace summaries; an error count below 0 means unknown (a Tempo search)."""
    if not summaries:
        return "(no traces)"
    duration_width = max(8, *(len(format_ms(s.duration_ms)) for s in summaries))
    rest = width - (32 + duration_width + 6 + 4 * len(GAP))
    # The root name gets what it needs (up to half); the services list takes the rest.
    root_width = max(10, min(max(len(s.root_name) for s in summaries), rest // 2))
    services_width = max(8, rest - root_width)
    title = [
        cell("trace id", 32),
        cell("root span", root_width),
        cell("duration", duration_width, align_right=True),
        cell("errors", 6, align_right=True),
        "services",
    ]
    lines = [paint(fit(GAP.join(title), width), DIM, color)]
    for s in summaries:
        count = "?" if s.error_count < 0 else f"✗ {s.error_count}" if s.error_count else "0"
        errors = cell(count, 6, align_right=True)
        row = [
            s.trace_id.ljust(32),
            cell(s.root_name, root_width),
            cell(format_ms(s.duration_ms), duration_width, align_right=True),
            paint(errors, RED if s.error_count else DIM, color),
            fit(", ".join(s.services), services_width),
        ]
        lines.append(GAP.join(row))
    return "\n".join(lines)
