"""OTLP export requests -> the store's plain records (SpanRecord, LogRecordRow, MetricPoint).

Accepts protobuf bytes or OTLP/JSON (see `otlp.parse_request`); decompression is the
receiver's job. Attribute values become JSON-friendly Python values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

from wayfinder.store.model import (
    Attributes,
    Exemplar,
    LogRecordRow,
    MetricPoint,
    SpanEvent,
    SpanLink,
    SpanRecord,
)
from wayfinder.store.otlp import PayloadError, parse_request

Record = SpanRecord | LogRecordRow | MetricPoint
UNKNOWN_SERVICE = "unknown_service"


@dataclass(frozen=True)
class Decoded:
    """One export request: the message as received and the records it holds."""

    signal: str
    message: Message
    records: list[Record]


def decode(signal: str, payload: bytes, content_type: str) -> Decoded:
    """Parse an export request body and turn it into records."""
    message = parse_request(signal, payload, content_type)
    return Decoded(signal, message, records_of(signal, message))


def records_of(signal: str, message: Message) -> list[Record]:
    """The records of an already parsed Export*ServiceRequest."""
    if signal == "traces":
        return list(_spans(message))
    if signal == "logs":
        return list(_logs(message))
    return list(_metric_points(message))


def any_value(value: AnyValue) -> Any:
    """An OTLP AnyValue as a JSON-friendly Python value (bytes as hex, kvlist as dict)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind is None:
        return None
    return getattr(value, kind)


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {pair.key: any_value(pair.value) for pair in pairs}


def _hex_or_none(raw: bytes, size: int) -> str | None:
    """An optional id as hex; a present id of the wrong size is an error, as in the collector."""
    if not raw:
        return None
    if len(raw) != size:
        raise PayloadError(f"an id must be {size} bytes, got {len(raw)}")
    return raw.hex()


def _hex(raw: bytes, size: int) -> str:
    """A required id (a span's own trace and span id) as hex."""
    value = _hex_or_none(raw, size)
    if value is None:
        raise PayloadError("a span needs a trace id and a span id")
    return value


def _service(resource: Attributes) -> str:
    name = resource.get("service.name")
    return name if isinstance(name, str) and name else UNKNOWN_SERVICE


def _resource(resource: Resource) -> tuple[Attributes, str]:
    attrs = attributes(resource.attributes)
    return attrs, _service(attrs)


def _enum_suffix(enum: Any, number: int, prefix: str) -> str:
    # SPAN_KIND_SERVER -> SERVER; an unknown number (newer producer) keeps its digits.
    try:
        return str(enum.Name(number)).removeprefix(prefix)
    except ValueError:
        return str(number)


def _scoped(blocks: Iterable[Any], scopes: str, items: str) -> Iterator[tuple[Attributes, str, str, Any]]:
    """(resource, service, scope name, item) for every item of resource -> scope -> items."""
    for block in blocks:
        resource, service = _resource(block.resource)
        for scope_block in getattr(block, scopes):
            for item in getattr(scope_block, items):
                yield resource, service, scope_block.scope.name, item


def _spans(request: Any) -> Iterator[SpanRecord]:
    for resource, service, scope, span in _scoped(request.resource_spans, "scope_spans", "spans"):
        yield SpanRecord(
            trace_id=_hex(span.trace_id, 16),
            span_id=_hex(span.span_id, 8),
            parent_span_id=_hex_or_none(span.parent_span_id, 8),
            name=span.name,
            kind=_enum_suffix(trace_pb2.Span.SpanKind, span.kind, "SPAN_KIND_"),
            start_unix_nano=span.start_time_unix_nano,
            end_unix_nano=span.end_time_unix_nano,
            status_code=_enum_suffix(trace_pb2.Status.StatusCode, span.status.code, "STATUS_CODE_"),
            status_message=span.status.message,
            service_name=service,
            attributes=attributes(span.attributes),
            resource=resource,
            scope_name=scope,
            events=tuple(SpanEvent(e.name, e.time_unix_nano, attributes(e.attributes)) for e in span.events),
            links=tuple(
                SpanLink(_hex(link.trace_id, 16), _hex(link.span_id, 8), attributes(link.attributes))
                for link in span.links
            ),
        )


def _body_text(body: AnyValue) -> str:
    value = any_value(body)
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _logs(request: Any) -> Iterator[LogRecordRow]:
    for resource, service, scope, log in _scoped(request.resource_logs, "scope_logs", "log_records"):
        yield LogRecordRow(
            # time_unix_nano is optional in OTLP; the observed time is always set.
            time_unix_nano=log.time_unix_nano or log.observed_time_unix_nano,
            severity_text=log.severity_text,
            severity_number=int(log.severity_number),
            body=_body_text(log.body),
            trace_id=_hex_or_none(log.trace_id, 16),
            span_id=_hex_or_none(log.span_id, 8),
            service_name=service,
            attributes=attributes(log.attributes),
            resource=resource,
            scope_name=scope,
        )


def _exemplars(point: Any) -> tuple[Exemplar, ...]:
    return tuple(
        Exemplar(
            time_unix_nano=e.time_unix_nano,
            value=float(getattr(e, e.WhichOneof("value") or "as_double")),
            trace_id=_hex_or_none(e.trace_id, 16),
            span_id=_hex_or_none(e.span_id, 8),
        )
        for e in point.exemplars
    )


def _number(point: metrics_pb2.NumberDataPoint) -> float | None:
    kind = point.WhichOneof("value")
    return float(getattr(point, kind)) if kind else None


def _metric_points(request: Any) -> Iterator[MetricPoint]:
    for resource, service, scope, metric in _scoped(request.resource_metrics, "scope_metrics", "metrics"):
        kind = metric.WhichOneof("data")
        if kind is None:
            continue
        data = getattr(metric, kind)
        monotonic = data.is_monotonic if kind == "sum" else None
        for point in data.data_points:
            yield MetricPoint(
                name=metric.name,
                kind=kind,
                unit=metric.unit,
                description=metric.description,
                monotonic=monotonic,
                service_name=service,
                attributes=attributes(point.attributes),
                resource=resource,
                scope_name=scope,
                time_unix_nano=point.time_unix_nano,
                **_point_values(kind, point),
            )


def _point_values(kind: str, point: Any) -> dict[str, Any]:
    if kind in ("sum", "gauge"):
        return {"value": _number(point), "exemplars": _exemplars(point)}
    values: dict[str, Any] = {
        "value": None,
        "count": int(point.count),
        # sum is optional on histograms (absent when it would be meaningless, e.g. negatives).
        "sum": point.sum if kind == "summary" or point.HasField("sum") else None,
    }
    if kind == "histogram":
        values["bucket_bounds"] = tuple(point.explicit_bounds)
        values["bucket_counts"] = tuple(int(c) for c in point.bucket_counts)
    if kind != "summary":
        values["exemplars"] = _exemplars(point)
    return values
