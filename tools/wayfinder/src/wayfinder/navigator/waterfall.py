"""The trace waterfall: one row per span in tree order, each with a bar on the trace's time axis.

    trace 4bf9…4736  412.3 ms  9 spans  4 services  1 error
      service       span                      duration  timeline                key attributes
      checkout-api  POST /checkout            412.3 ms  ███████████████████████ route=/checkout
    ✗ payment         payment.authorize       300.0 ms      ██████████████▌     region=eu-west

`render_logs` and `render_trace_list` (the other two views) are re-exported from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from wayfinder.navigator.tables import render_logs, render_trace_list
from wayfinder.navigator.text import (
    BOLD,
    DIM,
    GAP,
    KEY_ATTRIBUTES,
    RED,
    cell,
    fit,
    fit_items,
    format_ms,
    key_attributes,
    paint,
    plural,
    service_style,
)
from wayfinder.navigator.tree import TraceSummary, TreeRow, summarize, tree_rows
from wayfinder.store.model import SpanRecord

__all__ = ["KEY_ATTRIBUTES", "render_logs", "render_trace", "render_trace_list"]

ERROR_MARK = "✗"
HIGHLIGHT_MARK = "▶"  # the span a guided walk points at
ORPHAN_MARK = "(parent missing)"
_EIGHTHS = " ▏▎▍▌▋▊▉"  # index n = n/8 of a cell, drawn from the left
_FULL = "█"
_INDENT = "  "
_MAX_INDENT = 24


_FIXED = 2 + 3 * len(GAP)  # marker column plus the gaps before span, duration and bar


@dataclass(frozen=True)
class _Layout:
    """Column widths for one render; the fixed columns first, bar and attributes share the rest."""

    service: int
    name: int
    duration: int
    bar: int
    attributes: int

    @classmethod
    def for_rows(cls, rows: list[TreeRow], width: int) -> _Layout:
        # Lower bounds: the column titles ("service", "span", "duration") must fit.
        service = max(7, min(max(len(r.span.service_name) for r in rows), 16))
        name = max(4, min(max(len(_indent(r.depth)) + len(r.span.name) for r in rows), 30))
        duration = max(8, *(len(format_ms(r.span.duration_ms)) for r in rows))
        rest = width - (_FIXED + service + name + duration)
        if rest < 16:
            # Narrow terminal: the span name gives way first, down to a readable minimum.
            name = max(8, name - (16 - rest))
            rest = width - (_FIXED + service + name + duration)
        bar = max(8, min(40, int(rest * 0.45)))
        attributes = rest - bar - len(GAP)
        if attributes < 8:  # too little room to say anything: give it all to the bar
            bar, attributes = max(1, rest), 0
        return cls(service, name, duration, bar, attributes)


def _indent(depth: int) -> str:
    return (_INDENT * depth)[:_MAX_INDENT]


def bar(start: int, end: int, trace_start: int, trace_end: int, width: int) -> str:
    """A span's bar: offset and length proportional to its place on the trace's time axis."""
    total = max(trace_end - trace_start, 1)
    offset = max(0, min(int((start - trace_start) / total * width), width - 1))
    eighths = max(1, round((end - start) / total * width * 8))  # never invisible
    full, part = divmod(eighths, 8)
    drawn = (_FULL * full + (_EIGHTHS[part] if part else ""))[: width - offset]
    return (" " * offset + drawn).ljust(width)


def render_trace(
    spans: list[SpanRecord], width: int = 100, color: bool = False, highlight: str | None = None
) -> str:
    """The waterfall of one trace's spans, `width` columns wide at most; `highlight` marks the span
    (by id) a guided walk points at."""
    if not spans:
        return "(no spans)"
    rows = tree_rows(spans)
    summary = summarize(spans)
    layout = _Layout.for_rows(rows, width)
    lines = [_header(summary, width, color), _column_titles(layout, summary, width, color)]
    lines += [_row(row, layout, summary, color, row.span.span_id == highlight) for row in rows]
    if not color:
        # Below ~50 columns the fixed columns alone overflow: cut rather than wrap.
        lines = [fit(line, width) for line in lines]
    return "\n".join(lines)


def _header(summary: TraceSummary, width: int, color: bool) -> str:
    parts = [
        f"trace {summary.trace_id}",
        format_ms(summary.duration_ms),
        plural(summary.span_count, "span"),
        plural(len(summary.services), "service"),
    ]
    text = fit(GAP.join(parts), width)
    errors = f"{GAP}{plural(summary.error_count, 'error')}" if summary.error_count else ""
    if errors and len(text) + len(errors) <= width:
        return paint(text, BOLD, color) + paint(errors, RED, color)
    return paint(text, BOLD, color)


def _column_titles(layout: _Layout, summary: TraceSummary, width: int, color: bool) -> str:
    titles = [
        cell("service", layout.service),
        cell("span", layout.name),
        cell("duration", layout.duration, align_right=True),
        cell(f"0 … {format_ms(summary.duration_ms)}", layout.bar),
    ]
    if layout.attributes:
        titles.append("key attributes")
    return paint(fit(("  " + GAP.join(titles)).rstrip(), width), DIM, color)


def _row(row: TreeRow, layout: _Layout, summary: TraceSummary, color: bool, marked: bool = False) -> str:
    span = row.span
    failed = span.status_code == "ERROR"
    style = service_style(span.service_name, summary.services)
    drawn = bar(
        span.start_unix_nano,
        span.end_unix_nano,
        summary.start_unix_nano,
        summary.end_unix_nano,
        layout.bar,
    )
    cells = [
        paint(cell(span.service_name, layout.service), style, color),
        paint(cell(_indent(row.depth) + span.name, layout.name), RED if failed else "", color),
        cell(format_ms(span.duration_ms), layout.duration, align_right=True),
        paint(drawn, RED if failed else style, color),
    ]
    notes = ([ORPHAN_MARK] if row.orphan else []) + key_attributes(span.attributes, failed=failed)
    if layout.attributes and notes:
        cells.append(paint(fit_items(notes, layout.attributes), DIM, color))
    if failed:
        marker = paint(f"{ERROR_MARK} ", RED, color)
    else:
        marker = paint(f"{HIGHLIGHT_MARK} ", BOLD, color) if marked else "  "
    return (marker + GAP.join(cells)).rstrip()
