"""The embedded telemetry store: an OTLP/HTTP receiver writing spans, logs and metrics to SQLite.

`TelemetryStore` is the query API, `OTLPReceiver` the endpoint that fills it; the record
types live in `wayfinder.store.model`.
"""

from wayfinder.store.db import TelemetryStore
from wayfinder.store.model import (
    Exemplar,
    LogRecordRow,
    MetricPoint,
    SpanEvent,
    SpanLink,
    SpanRecord,
)
from wayfinder.store.server import OTLPReceiver

__all__ = [
    "Exemplar",
    "LogRecordRow",
    "MetricPoint",
    "OTLPReceiver",
    "SpanEvent",
    "SpanLink",
    "SpanRecord",
    "TelemetryStore",
]
