"""The SQLite tables of the telemetry store and the record <-> row conversions.

One table per record type, one column per dataclass field (same name), nested values as JSON
text so SQLite's json functions can still look inside attributes. `requests` keeps every
export request (serialized protobuf) so a capture file can be written back out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from functools import cached_property, lru_cache
from typing import Any, Generic, TypeVar

from wayfinder.store.model import (
    Exemplar,
    LogRecordRow,
    MetricPoint,
    SpanEvent,
    SpanLink,
    SpanRecord,
)

T = TypeVar("T", SpanRecord, LogRecordRow, MetricPoint)

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY, signal TEXT NOT NULL, payload BLOB NOT NULL,
    -- Its newest record's time (at most its arrival): retention prunes it with those records.
    time_unix_nano INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT,
    name TEXT NOT NULL, kind TEXT NOT NULL,
    start_unix_nano INTEGER NOT NULL, end_unix_nano INTEGER NOT NULL,
    status_code TEXT NOT NULL, status_message TEXT NOT NULL, service_name TEXT NOT NULL,
    attributes TEXT NOT NULL, resource TEXT NOT NULL, scope_name TEXT NOT NULL,
    events TEXT NOT NULL, links TEXT NOT NULL,
    -- An exporter that timed out and retried sends the same span twice: keep one.
    PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_unix_nano);
CREATE INDEX IF NOT EXISTS spans_by_service ON spans (service_name, start_unix_nano);
CREATE INDEX IF NOT EXISTS spans_by_name ON spans (name);
CREATE TABLE IF NOT EXISTS logs (
    time_unix_nano INTEGER NOT NULL, severity_text TEXT NOT NULL,
    severity_number INTEGER NOT NULL, body TEXT NOT NULL, trace_id TEXT, span_id TEXT,
    service_name TEXT NOT NULL, attributes TEXT NOT NULL, resource TEXT NOT NULL,
    scope_name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_by_time ON logs (time_unix_nano);
CREATE INDEX IF NOT EXISTS logs_by_trace ON logs (trace_id);
CREATE TABLE IF NOT EXISTS metric_points (
    name TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT NOT NULL, description TEXT NOT NULL,
    monotonic INTEGER, service_name TEXT NOT NULL, attributes TEXT NOT NULL,
    resource TEXT NOT NULL, scope_name TEXT NOT NULL, time_unix_nano INTEGER NOT NULL,
    value REAL, count INTEGER, sum REAL, bucket_bounds TEXT NOT NULL,
    bucket_counts TEXT NOT NULL, exemplars TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_by_name ON metric_points (name, time_unix_nano);
CREATE INDEX IF NOT EXISTS metric_points_by_time ON metric_points (time_unix_nano);
-- Traces a drill or scenario still needs: retention never removes them.
CREATE TABLE IF NOT EXISTS pinned_traces (trace_id TEXT PRIMARY KEY, reason TEXT NOT NULL);
-- Time windows a running drill or scenario holds: age-based pruning stops at the oldest.
CREATE TABLE IF NOT EXISTS holds (name TEXT PRIMARY KEY, since_unix_nano INTEGER NOT NULL);
"""

# Added after the first release: stores created before it get the column on open.
REQUESTS_TIME = "ALTER TABLE requests ADD COLUMN time_unix_nano INTEGER NOT NULL DEFAULT 0"
REQUESTS_TIME_INDEX = "CREATE INDEX IF NOT EXISTS requests_by_time ON requests (time_unix_nano)"


def _many(kind: Callable[..., Any]) -> Callable[[Any], tuple[Any, ...]]:
    return lambda items: tuple(kind(**item) if isinstance(item, dict) else kind(item) for item in items)


def _optional_bool(value: Any) -> bool | None:
    # SQLite has no booleans: `monotonic` comes back as 0/1.
    return None if value is None else bool(value)


@dataclass(frozen=True)
class Table(Generic[T]):
    """How one record type maps onto one table."""

    name: str
    record: type[T]
    json_columns: frozenset[str]
    # column -> how to rebuild the field from the stored (and JSON-parsed) value.
    loaders: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    insert_verb: str = "INSERT"

    @cached_property
    def columns(self) -> list[str]:
        return [f.name for f in fields(self.record)]

    @property
    def insert_sql(self) -> str:
        marks = ", ".join("?" for _ in self.columns)
        return f"{self.insert_verb} INTO {self.name} ({', '.join(self.columns)}) VALUES ({marks})"

    @property
    def select_sql(self) -> str:
        return f"SELECT {', '.join(self.columns)} FROM {self.name}"

    def to_row(self, record: T) -> tuple[Any, ...]:
        values = (getattr(record, column) for column in self.columns)
        return tuple(
            _to_json(value) if column in self.json_columns else value
            for column, value in zip(self.columns, values, strict=True)
        )

    def from_row(self, row: tuple[Any, ...]) -> T:
        values = dict(zip(self.columns, row, strict=True))
        for column in self.json_columns:
            text = values[column]
            # Resources, empty event lists and bucket bounds repeat on every row: parse each
            # distinct text once (the parsed values are shared, and never modified).
            values[column] = _parsed(text) if column in _REPEATING else json.loads(text)
        for column, load in self.loaders.items():
            values[column] = load(values[column])
        return self.record(**values)


_REPEATING = frozenset({"resource", "events", "links", "bucket_bounds"})


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Any:
    return json.loads(text)


def _to_json(value: Any) -> str:
    if isinstance(value, tuple):
        value = [asdict(item) if is_dataclass(item) else item for item in value]  # type: ignore[arg-type]
    return json.dumps(value, separators=(",", ":"))


_JSON_ATTRS = frozenset({"attributes", "resource"})

SPANS: Table[SpanRecord] = Table(
    "spans",
    SpanRecord,
    _JSON_ATTRS | {"events", "links"},
    {"events": _many(SpanEvent), "links": _many(SpanLink)},
    insert_verb="INSERT OR REPLACE",
)
LOGS: Table[LogRecordRow] = Table("logs", LogRecordRow, _JSON_ATTRS)
METRIC_POINTS: Table[MetricPoint] = Table(
    "metric_points",
    MetricPoint,
    _JSON_ATTRS | {"bucket_bounds", "bucket_counts", "exemplars"},
    {
        "monotonic": _optional_bool,
        "bucket_bounds": _many(float),
        "bucket_counts": _many(int),
        "exemplars": _many(Exemplar),
    },
)
TABLES: dict[str, Table[Any]] = {"traces": SPANS, "logs": LOGS, "metrics": METRIC_POINTS}
