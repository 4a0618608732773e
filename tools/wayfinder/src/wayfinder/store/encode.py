"""Records -> OTLP export requests: the inverse of `decode`, for records added without a request.

`TelemetryStore.add_spans` and friends keep an export request next to the rows so that a
capture file holds everything the store holds. Decoding what this module encodes gives the
same records back; fields the records do not carry (trace state, temporality, start times)
get OTLP defaults (metrics are written as cumulative, as the SDK exports them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from wayfinder.store.model import Exemplar, LogRecordRow, MetricPoint, SpanRecord

R = TypeVar("R", SpanRecord, LogRecordRow, MetricPoint)
_CUMULATIVE = metrics_pb2.AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE


def to_any_value(value: Any) -> AnyValue:
    """A JSON-friendly Python value as an OTLP AnyValue (bool before int: bool is an int)."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(key_values(value))
        return out
    if isinstance(value, list | tuple):
        out = AnyValue()
        out.array_value.values.extend(to_any_value(item) for item in value)
        return out
    return AnyValue(string_value=str(value))


def key_values(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=to_any_value(value)) for key, value in attrs.items()]


def _id(hex_id: str | None) -> bytes:
    return bytes.fromhex(hex_id) if hex_id else b""


def _enum(enum: Any, prefix: str, name: str) -> int:
    # Decoding keeps an unknown enum number as its digits (see decode._enum_suffix).
    return int(name) if name.isdigit() else int(enum.Value(prefix + name))


def _scope_blocks(records: Iterable[R], blocks: Any, scopes: str) -> Iterator[tuple[Any, list[R]]]:
    """Adds one resource block + scope block per (resource, scope) of `records`, in first-seen order."""
    groups: dict[tuple[str, str], list[R]] = {}
    for record in records:
        resource = {"service.name": record.service_name, **record.resource}
        groups.setdefault((json.dumps(resource, sort_keys=True), record.scope_name), []).append(record)
    for (resource_json, scope), group in groups.items():
        block = blocks.add()
        block.resource.attributes.extend(key_values(json.loads(resource_json)))
        scope_block = getattr(block, scopes).add()
        scope_block.scope.name = scope
        yield scope_block, group


def spans_request(spans: Iterable[SpanRecord]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for scope_spans, group in _scope_blocks(spans, request.resource_spans, "scope_spans"):
        for span in group:
            out = scope_spans.spans.add(
                trace_id=_id(span.trace_id),
                span_id=_id(span.span_id),
                parent_span_id=_id(span.parent_span_id),
                name=span.name,
                kind=_enum(trace_pb2.Span.SpanKind, "SPAN_KIND_", span.kind),
                start_time_unix_nano=span.start_unix_nano,
                end_time_unix_nano=span.end_unix_nano,
                attributes=key_values(span.attributes),
            )
            out.status.code = _enum(trace_pb2.Status.StatusCode, "STATUS_CODE_", span.status_code)
            out.status.message = span.status_message
            for event in span.events:
                out.events.add(
                    name=event.name,
                    time_unix_nano=event.time_unix_nano,
                    attributes=key_values(event.attributes),
                )
            for link in span.links:
                out.links.add(
                    trace_id=_id(link.trace_id),
                    span_id=_id(link.span_id),
                    attributes=key_values(link.attributes),
                )
    return request


def logs_request(logs: Iterable[LogRecordRow]) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for scope_logs, group in _scope_blocks(logs, request.resource_logs, "scope_logs"):
        for log in group:
            scope_logs.log_records.add(
                time_unix_nano=log.time_unix_nano,
                observed_time_unix_nano=log.time_unix_nano,
                severity_text=log.severity_text,
                severity_number=log.severity_number,
                body=AnyValue(string_value=log.body),
                trace_id=_id(log.trace_id),
                span_id=_id(log.span_id),
                attributes=key_values(log.attributes),
            )
    return request


def _metric_key(point: MetricPoint) -> tuple[str, str, str, str, bool | None]:
    return (point.name, point.kind, point.unit, point.description, point.monotonic)


def metrics_request(points: Iterable[MetricPoint]) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    for scope_metrics, group in _scope_blocks(points, request.resource_metrics, "scope_metrics"):
        by_metric: dict[tuple[str, str, str, str, bool | None], list[MetricPoint]] = {}
        for point in group:
            by_metric.setdefault(_metric_key(point), []).append(point)
        for (name, kind, unit, description, monotonic), metric_points in by_metric.items():
            metric = scope_metrics.metrics.add(name=name, unit=unit, description=description)
            data = getattr(metric, kind)
            if kind in ("sum", "histogram", "exponential_histogram"):
                data.aggregation_temporality = _CUMULATIVE
            if kind == "sum":
                data.is_monotonic = bool(monotonic)
            for point in metric_points:
                _add_point(data.data_points.add(), kind, point)
    return request


def _add_point(out: Any, kind: str, point: MetricPoint) -> None:
    out.time_unix_nano = point.time_unix_nano
    out.attributes.extend(key_values(point.attributes))
    if kind in ("sum", "gauge"):
        if point.value is not None:
            out.as_double = point.value
    else:
        out.count = point.count or 0
        if point.sum is not None:
            out.sum = point.sum
    if kind == "histogram":
        out.explicit_bounds.extend(point.bucket_bounds)
        out.bucket_counts.extend(point.bucket_counts)
    if kind != "summary":
        out.exemplars.extend(_exemplar(e) for e in point.exemplars)


def _exemplar(exemplar: Exemplar) -> metrics_pb2.Exemplar:
    return metrics_pb2.Exemplar(
        time_unix_nano=exemplar.time_unix_nano,
        as_double=exemplar.value,
        trace_id=_id(exemplar.trace_id),
        span_id=_id(exemplar.span_id),
    )
