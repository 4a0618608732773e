"""A trace's spans as a tree in display order, and the one-line summary of a trace.

Children follow their parent, siblings by start time. A span whose parent is not among the
spans (not exported yet, dropped, or sampled out) becomes an extra root flagged `orphan`,
so nothing a process exported is ever hidden from the reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wayfinder.store.model import SpanRecord


@dataclass(frozen=True)
class TreeRow:
    span: SpanRecord
    depth: int
    orphan: bool  # has a parent id, but that parent is not in the trace


@dataclass(frozen=True)
class TraceSummary:
    trace_id: str
    root_name: str
    root_service: str
    services: list[str]  # in order of first appearance
    start_unix_nano: int
    end_unix_nano: int
    span_count: int
    error_count: int

    @property
    def duration_ms(self) -> float:
        return (self.end_unix_nano - self.start_unix_nano) / 1e6


def _order(span: SpanRecord) -> tuple[int, int, str]:
    # Same start: the longer span first, as a parent usually starts with its first child.
    return (span.start_unix_nano, -span.end_unix_nano, span.span_id)


def tree_rows(spans: Sequence[SpanRecord]) -> list[TreeRow]:
    """Depth-first rows: each root, then its subtree, siblings ordered by start time."""
    by_id: dict[str, SpanRecord] = {}
    for span in sorted(spans, key=_order):
        by_id.setdefault(span.span_id, span)  # a duplicate export shows once
    children: dict[str, list[SpanRecord]] = {}
    roots: list[SpanRecord] = []
    for span in by_id.values():
        parent = span.parent_span_id
        if parent and parent in by_id and parent != span.span_id:
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)

    rows: list[TreeRow] = []
    seen: set[str] = set()
    # Spans in a parent cycle (corrupt data) are reachable from no root: they come last,
    # as extra roots, so every span is shown.
    starts = [(root, root.parent_span_id is not None) for root in roots]
    starts += [(span, True) for span in by_id.values()]
    for start, orphan in starts:
        # An explicit stack rather than recursion: deep retry chains must not hit the limit.
        stack = [(start, 0, orphan)]
        while stack:
            span, depth, flagged = stack.pop()
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            rows.append(TreeRow(span, depth, flagged))
            kids = children.get(span.span_id, [])
            stack.extend((child, depth + 1, False) for child in reversed(kids))
    return rows


def summarize(spans: Sequence[SpanRecord]) -> TraceSummary:
    """Root span, services, time range, span and error counts of one trace's spans."""
    if not spans:
        raise ValueError("a trace needs at least one span")
    ordered = sorted(spans, key=_order)
    root = next((s for s in ordered if s.parent_span_id is None), ordered[0])
    services: list[str] = []
    for span in ordered:
        if span.service_name not in services:
            services.append(span.service_name)
    return TraceSummary(
        trace_id=root.trace_id,
        root_name=root.name,
        root_service=root.service_name,
        services=services,
        start_unix_nano=min(s.start_unix_nano for s in spans),
        end_unix_nano=max(s.end_unix_nano for s in spans),
        span_count=len(spans),
        error_count=sum(1 for s in spans if s.status_code == "ERROR"),
    )
