"""The logs of a trace as LogQL (Loki), and Loki's stream answers as the navigator's log records.

`trace_id` is structured metadata on every shop log line (the collector's otlphttp exporter to
Loki's OTLP endpoint), so it is a filter after the stream selector, not a stream label; Loki
returns structured metadata merged into each stream's labels.
"""

from __future__ import annotations

import re
from typing import Any

from wayfinder.store.model import LogRecordRow

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
# Labels that become fields of the record rather than its attributes.
_FIELDS = {"service_name", "trace_id", "span_id", "severity_text", "detected_level", "level"}


def trace_logs(trace_id: str) -> str:
    if not _TRACE_ID.match(trace_id):
        raise ValueError(f"not a trace id (32 lowercase hex characters): {trace_id!r}")
    return f'{{service_name=~".+"}} | trace_id="{trace_id}"'


def records(data: dict[str, Any]) -> list[LogRecordRow]:
    """The `data` of a /loki/api/v1/query_range answer (`resultType: streams`), oldest first."""
    if data.get("resultType") != "streams":
        raise ValueError(f"expected streams, got {data.get('resultType')}")
    rows = []
    for stream in data.get("result", []):
        labels: dict[str, str] = dict(stream.get("stream", {}))
        level = labels.get("severity_text") or labels.get("detected_level") or labels.get("level") or ""
        attributes: dict[str, Any] = {k: v for k, v in labels.items() if k not in _FIELDS}
        for value in stream.get("values", []):
            timestamp, line = value[0], value[1]
            rows.append(
                LogRecordRow(
                    time_unix_nano=int(timestamp),
                    severity_text=level.upper(),
                    severity_number=0,
                    body=line,
                    trace_id=labels.get("trace_id"),
                    span_id=labels.get("span_id"),
                    service_name=labels.get("service_name", "unknown_service"),
                    attributes=attributes,
                    resource={},
                    scope_name="",
                )
            )
    return sorted(rows, key=lambda r: r.time_unix_nano)
