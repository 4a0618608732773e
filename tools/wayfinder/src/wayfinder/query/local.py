"""Local mode's backend: the embedded store for traces and logs, the local Prometheus for the rest."""

from __future__ import annotations

from wayfinder.navigator.tree import TraceSummary, summarize
from wayfinder.query.model import Alert, Answer, Breakdown, ExemplarRef, QueryError, TraceQuery
from wayfinder.query.prometheus_api import PrometheusAPI
from wayfinder.query.promql import by_label
from wayfinder.store.db import TelemetryStore
from wayfinder.store.model import LogRecordRow, SpanRecord


class LocalBackend:
    """Answers from what local mode captured; no links (nothing to open but the terminal)."""

    name = "local"

    def __init__(self, store: TelemetryStore, prometheus: PrometheusAPI) -> None:
        self.store = store
        self.prometheus = prometheus

    def alerts(self) -> Answer[list[Alert]]:
        try:
            return Answer(self.prometheus.alerts(), f"GET {self.prometheus.url}/api/v1/alerts")
        except QueryError as exc:
            # Local mode runs without a Prometheus binary: say so rather than only "no answer".
            raise QueryError(
                f"{exc}\n(`wayfinder status` says whether local mode's Prometheus runs)"
            ) from exc

    def fired(self, range_s: float) -> Answer[list[dict[str, str]]]:
        expr, found = self.prometheus.fired(range_s)
        return Answer(found, expr)

    def breakdown(
        self,
        metric: str,
        by: str | None,
        quantile: float,
        window: str,
        range_s: float,
        where: tuple[tuple[str, str], ...] = (),
    ) -> Answer[Breakdown]:
        ref = self.prometheus.metric(metric)
        expr, found = self.prometheus.breakdown(ref, by_label(by), quantile, window, range_s, where)
        return Answer(found, expr)

    def exemplars(self, metric: str, by: str | None, range_s: float) -> Answer[list[ExemplarRef]]:
        selector, found = self.prometheus.exemplars(self.prometheus.metric(metric), range_s)
        return Answer(found, selector)

    def search_traces(self, query: TraceQuery) -> Answer[list[TraceSummary]]:
        ids = self.store.search_trace_ids(
            service=query.service,
            span_name=query.span_name,
            min_duration_ns=None if query.min_duration_s is None else int(query.min_duration_s * 1e9),
            attributes=query.attributes,
            errors=query.errors,
            limit=query.limit,
        )
        summaries = [summarize(spans) for t in ids if (spans := self.store.spans(trace_id=t))]
        return Answer(summaries, describe(query))

    def trace(self, trace_id: str) -> Answer[list[SpanRecord]]:
        return Answer(self.store.spans(trace_id=trace_id), f"spans of trace {trace_id}")

    def trace_logs(self, trace_id: str) -> Answer[list[LogRecordRow]]:
        return Answer(self.store.logs(trace_id=trace_id), f"logs of trace {trace_id}")


def describe(query: TraceQuery) -> str:
    """The search in words (local mode's `query` line)."""
    parts = [
        f"service={query.service}" if query.service else "",
        f"span={query.span_name}" if query.span_name else "",
        f"duration>={query.min_duration_s:g}s" if query.min_duration_s is not None else "",
        *(f"{k}={v}" for k, v in query.attributes),
    ]
    one_span = " ".join(p for p in parts if p)
    text = f"traces with one span where {one_span}" if one_span else "recent traces"
    return text + (" and any span with status ERROR" if query.errors else "")
