"""A trace search as TraceQL (Tempo), and Tempo's answers as the navigator's records."""

from __future__ import annotations

import base64
import re
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from wayfinder.navigator.tree import TraceSummary
from wayfinder.query.model import TraceQuery
from wayfinder.store.decode import records_of
from wayfinder.store.model import SpanRecord

_HEX_ID = re.compile(r"^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$")
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def traceql(query: TraceQuery) -> str:
    """One spanset for the span conditions (they hold for one span), `&& { status = error }` for errors."""
    conditions = []
    if query.service:
        conditions.append(f"resource.service.name = {_string(query.service)}")
    if query.span_name:
        conditions.append(f"name = {_string(query.span_name)}")
    if query.min_duration_s is not None:
        conditions.append(f"duration >= {round(query.min_duration_s * 1000)}ms")
    for key, value in query.attributes:
        # `.key` matches a span or a resource attribute, as the local store's search does spans'.
        conditions.append(f".{key} = {_string(value)}")
    spanset = "{ " + " && ".join(conditions) + " }" if conditions else "{ }"
    return spanset + (" && { status = error }" if query.errors else "")


def summaries(document: dict[str, Any]) -> list[TraceSummary]:
    """Tempo's /api/search answer as trace summaries (no error count in it: -1, unknown)."""
    found = []
    for trace in document.get("traces", []):
        start = int(trace.get("startTimeUnixNano", 0))
        sets = trace.get("spanSets") or ([trace["spanSet"]] if trace.get("spanSet") else [])
        matched = sum(int(s.get("matched", 0)) for s in sets)
        found.append(
            TraceSummary(
                # Tempo drops leading zeros of trace ids in search answers.
                trace_id=trace["traceID"].zfill(32),
                root_name=trace.get("rootTraceName", "<root span not yet received>"),
                root_service=trace.get("rootServiceName", "?"),
                services=[trace.get("rootServiceName", "?")],
                start_unix_nano=start,
                end_unix_nano=start + int(trace.get("durationMs", 0)) * 1_000_000,
                span_count=matched,
                error_count=-1,
            )
        )
    return found


def spans(document: dict[str, Any]) -> list[SpanRecord]:
    """Tempo's /api/traces/<id> answer (protobuf JSON: `batches` of resource spans, ids in
    base64, the protobuf mapping) as span records; hex ids (OTLP/JSON) are accepted too."""
    request = {
        "resourceSpans": _with_base64_ids(document.get("batches") or document.get("resourceSpans") or [])
    }
    message = ExportTraceServiceRequest()
    json_format.ParseDict(request, message, ignore_unknown_fields=True)
    records = [r for r in records_of("traces", message) if isinstance(r, SpanRecord)]
    return sorted(records, key=lambda s: (s.start_unix_nano, -s.end_unix_nano, s.span_id))


def _with_base64_ids(node: Any) -> Any:
    if isinstance(node, list):
        return [_with_base64_ids(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        if key in _ID_FIELDS and isinstance(value, str) and _HEX_ID.match(value):
            value = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        converted[key] = _with_base64_ids(value)
    return converted
