"""The questions the navigation commands (and later walk, drill and verify) ask a telemetry backend."""

from __future__ import annotations

from typing import Protocol

from wayfinder.navigator.tree import TraceSummary
from wayfinder.query.model import Alert, Answer, Breakdown, ExemplarRef, TraceQuery
from wayfinder.store.model import LogRecordRow, SpanRecord


class QueryBackend(Protocol):
    """Local mode (store + local Prometheus) and the compose stack (Prometheus, Tempo, Loki).

    Every method raises QueryError when the backend cannot answer; an empty answer is not an error.
    """

    name: str

    def alerts(self) -> Answer[list[Alert]]:
        """Firing and pending alerts."""
        ...

    def fired(self, range_s: float) -> Answer[list[dict[str, str]]]:
        """The labels of every alert firing at some point in the last `range_s` seconds (resolved too)."""
        ...

    def breakdown(
        self,
        metric: str,
        by: str | None,
        quantile: float,
        window: str,
        range_s: float,
        where: tuple[tuple[str, str], ...] = (),
    ) -> Answer[Breakdown]:
        """A quantile (histogram), rate (counter) or value (gauge) by one label, now and over time;
        `where`: only the series with these label (or attribute) values."""
        ...

    def exemplars(self, metric: str, by: str | None, range_s: float) -> Answer[list[ExemplarRef]]:
        """The exemplars of a metric over the last `range_s` seconds, slowest first."""
        ...

    def search_traces(self, query: TraceQuery) -> Answer[list[TraceSummary]]:
        """Traces matching the search, newest first."""
        ...

    def trace(self, trace_id: str) -> Answer[list[SpanRecord]]:
        """Every span of one trace."""
        ...

    def trace_logs(self, trace_id: str) -> Answer[list[LogRecordRow]]:
        """The log records of one trace, in time order."""
        ...
