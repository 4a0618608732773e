"""Trace-shape rules: spans that lost their parent, and context lost across the async hop.

Both judge only what the data can prove. A trace whose root is not in the data (sampled out,
still in flight, or cut off by the window) is incomplete, so a missing parent there proves
nothing. Context is "lost" when an async-hop span (registry annotation `async_hop`) climbs its
parents to a true root inside its own service without meeting a producer, while the same
order (the hop's `correlate_by` attribute) appears in another trace: the evidence that the two
were causally related. For a consumer (the worker) that other trace must hold a producer span;
for a producer (the outbox relay) any trace that carries the order will do, since the relay's
parent should be the checkout that wrote the outbox row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from wayfinder.contract.model import Registry, SpanDef
from wayfinder.contract.patterns import safe
from wayfinder.contract.report import Violation
from wayfinder.contract.sites import Telemetry
from wayfinder.store.model import SpanRecord


def trace_orphan_span(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for trace_id, spans in _by_trace(t.spans).items():
        ids = {span.span_id for span in spans}
        if not any(not span.parent_span_id for span in spans):
            continue  # no root here: the trace is incomplete, not broken
        for span in spans:
            if span.parent_span_id and span.parent_span_id not in ids:
                yield Violation(
                    "trace.orphan_span",
                    f"its parent {span.parent_span_id} is not in the trace although the root is: "
                    "a span was dropped or a hop did not export",
                    span.service_name,
                    "traces",
                    safe(span.name),
                    None,
                    trace_id,
                    span.span_id,
                )


@dataclass(frozen=True)
class _Hop:
    """The topmost async-hop span of a trace that started the trace afresh."""

    span: SpanRecord
    role: str
    key: str
    values: list[object]
    linked: frozenset[str]


class AsyncHopTally:
    """Whole traces arrive chunk by chunk; the judgement needs every trace's orders, so it waits.

    Kept per chunk: which traces carry which order (and which of them hold a producer span),
    and each trace's candidate hop. Memory grows with orders, not with spans.
    """

    def __init__(self) -> None:
        self.carriers: dict[tuple[str, object], set[str]] = defaultdict(set)
        self.producing: dict[tuple[str, object], set[str]] = defaultdict(set)
        self.hops: list[_Hop] = []

    def feed(self, t: Telemetry, reg: Registry) -> Iterator[Violation]:
        producers, consumers = reg.async_spans("producer"), reg.async_spans("consumer")
        keys = {d.async_hop.correlate_by for d in producers + consumers if d.async_hop}
        for trace_id, spans in _by_trace(t.spans).items():
            has_producer = any(_role(span, producers) for span in spans)
            for key in keys:
                for value in _values(spans, key):
                    self.carriers[(key, value)].add(trace_id)
                    if has_producer:
                        self.producing[(key, value)].add(trace_id)
            hop = _first_hop(spans, producers, consumers)
            if hop is not None:
                self.hops.append(hop)
        return iter(())

    def finish(self, reg: Registry) -> Iterator[Violation]:
        for hop in self.hops:
            # A consumer must follow a producer; a producer must follow whoever wrote the order.
            related = self.producing if hop.role == "consumer" else self.carriers
            for value in hop.values:
                others = related.get((hop.key, value), set()) - {hop.span.trace_id} - hop.linked
                if others:
                    yield Violation(
                        "trace.async_context_lost",
                        f"starts a new trace although {hop.key}={value} is in trace {sorted(others)[0]}: "
                        "carry the trace context across the hop (message headers / outbox row)",
                        hop.span.service_name,
                        "traces",
                        hop.span.name,
                        hop.key,
                        hop.span.trace_id,
                        hop.span.span_id,
                    )
                    break


def trace_async_context_lost(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    tally = AsyncHopTally()
    yield from tally.feed(t, reg)
    yield from tally.finish(reg)


def _first_hop(
    spans: Sequence[SpanRecord], producers: list[SpanDef], consumers: list[SpanDef]
) -> _Hop | None:
    """The topmost hop span that started its trace: it tells the story, its children repeat it."""
    by_id = {span.span_id: span for span in spans}
    # Ties broken by span id: the answer must not depend on the order the spans were read in.
    for span in sorted(spans, key=lambda s: (s.start_unix_nano, s.span_id)):
        hop = _role(span, consumers) or _role(span, producers)
        if hop is None or hop.async_hop is None or not _starts_trace(span, by_id, producers):
            continue
        key = hop.async_hop.correlate_by
        linked = frozenset(link.trace_id for s in spans for link in s.links)
        return _Hop(span, hop.async_hop.role, key, _values(spans, key), linked)
    return None


def _by_trace(spans: Sequence[SpanRecord]) -> dict[str, list[SpanRecord]]:
    traces: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    return traces


def _role(span: SpanRecord, defs: list[SpanDef]) -> SpanDef | None:
    return next((d for d in defs if d.matches(span.name) and d.kind == span.kind), None)


def _starts_trace(span: SpanRecord, by_id: dict[str, SpanRecord], producers: list[SpanDef]) -> bool:
    """Did this span's causal chain begin in its own process, with no producer before it?

    Climb the parents: reaching another service, or a producer span (a retry's own publish),
    means context did arrive; reaching a true root within the same service means the hop
    started afresh. A parent missing from the data means context arrived (just not into this
    capture), so that counts as "no".
    """
    current: SpanRecord | None = span
    seen: set[str] = set()
    while current is not None and current.span_id not in seen:
        seen.add(current.span_id)
        if current is not span and (current.service_name != span.service_name or _role(current, producers)):
            return False
        if not current.parent_span_id:
            return True
        current = by_id.get(current.parent_span_id)
    return False


def _values(spans: Sequence[SpanRecord], key: str) -> list[object]:
    found = {span.attributes[key] for span in spans if isinstance(span.attributes.get(key), str | int)}
    return sorted(found, key=str)
