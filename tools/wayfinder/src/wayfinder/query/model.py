"""The answers of the query layer: plain records the commands render, whichever backend gave them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class QueryError(RuntimeError):
    """A backend could not answer (not running, refused the query, or answered an error)."""


@dataclass(frozen=True)
class Answer(Generic[T]):
    """What a backend found, the query that found it, and (compose stack) the Grafana link to it."""

    value: T
    query: str
    link: str | None = None


@dataclass(frozen=True)
class Alert:
    name: str
    state: str  # "firing" | "pending"
    labels: dict[str, str]
    annotations: dict[str, str]
    active_at: str
    value: str

    @property
    def summary(self) -> str:
        return self.annotations.get("summary", "")

    @property
    def runbook(self) -> str:
        return self.annotations.get("runbook_url", "")

    @property
    def dashboard(self) -> str:
        return self.annotations.get("dashboard_url", "")


@dataclass(frozen=True)
class MetricRef:
    """A metric as Prometheus names it: the base name and how to read it."""

    base: str  # e.g. checkout_request_duration_seconds
    kind: str  # "histogram" | "counter" | "gauge"

    @property
    def unit(self) -> str:
        for suffix in ("seconds", "bytes"):
            if self.base.endswith(f"_{suffix}") or self.base.endswith(f"_{suffix}_total"):
                return suffix
        return ""


@dataclass(frozen=True)
class Series:
    """One value of the breakdown label: its current value and its values over the range."""

    label_value: str
    value: float | None  # None: no data (NaN) in the window
    points: tuple[tuple[float, float], ...] = ()  # (unix seconds, value)


@dataclass(frozen=True)
class Breakdown:
    metric: MetricRef
    by: str | None
    statistic: str  # "p95", "rate", "value"
    window: str
    series: tuple[Series, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ExemplarRef:
    """One exemplar: the trace behind one observation of a metric."""

    trace_id: str
    span_id: str
    value: float
    time_s: float
    series: dict[str, str]


@dataclass(frozen=True)
class TraceQuery:
    """A trace search. Service, span name, minimum duration and attributes all hold for ONE span
    (as in a TraceQL spanset); `errors` asks for any span of the trace with status ERROR."""

    service: str | None = None
    span_name: str | None = None
    min_duration_s: float | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    errors: bool = False
    limit: int = 20
