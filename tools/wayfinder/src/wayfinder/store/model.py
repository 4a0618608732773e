"""Plain records for what the telemetry store keeps: one shape for spans, logs and metric points.

The OTLP receiver writes these, the query API returns them, and the navigator and the
contract checker read them; none of them needs to know OTLP's protobuf classes.
Attribute values are JSON-friendly: str, bool, int, float, or lists of those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AttributeValue = str | bool | int | float | list[Any]
Attributes = dict[str, AttributeValue]


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_unix_nano: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True)
class SpanLink:
    trace_id: str
    span_id: str
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True)
class SpanRecord:
    trace_id: str  # 32 lowercase hex chars
    span_id: str  # 16 lowercase hex chars
    parent_span_id: str | None  # None for a root span
    name: str
    kind: str  # "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER" | "UNSPECIFIED"
    start_unix_nano: int
    end_unix_nano: int
    status_code: str  # "UNSET" | "OK" | "ERROR"
    status_message: str
    service_name: str  # resource service.name ("unknown_service" if absent)
    attributes: Attributes
    resource: Attributes
    scope_name: str
    events: tuple[SpanEvent, ...] = ()
    links: tuple[SpanLink, ...] = ()

    @property
    def duration_ms(self) -> float:
        return (self.end_unix_nano - self.start_unix_nano) / 1e6


@dataclass(frozen=True)
class LogRecordRow:
    time_unix_nano: int
    severity_text: str
    severity_number: int
    body: str  # the body rendered as text
    trace_id: str | None
    span_id: str | None
    service_name: str
    attributes: Attributes
    resource: Attributes
    scope_name: str


@dataclass(frozen=True)
class Exemplar:
    time_unix_nano: int
    value: float
    trace_id: str | None
    span_id: str | None


@dataclass(frozen=True)
class MetricPoint:
    """One data point of one metric as exported (cumulative temporality)."""

    name: str
    kind: str  # "histogram" | "sum" | "gauge" | "exponential_histogram" | "summary"
    unit: str
    description: str
    monotonic: bool | None  # for sums; None otherwise
    service_name: str
    attributes: Attributes
    resource: Attributes
    scope_name: str
    time_unix_nano: int
    value: float | None  # sums and gauges
    count: int | None = None  # histograms
    sum: float | None = None  # histograms
    bucket_bounds: tuple[float, ...] = ()  # histograms: explicit bounds
    bucket_counts: tuple[int, ...] = ()  # histograms: len(bounds) + 1
    exemplars: tuple[Exemplar, ...] = ()
