"""OTLP export requests on the wire: which message belongs to which signal, and the two encodings.

OTLP/JSON is protobuf's JSON mapping with one twist: trace and span ids are HEX strings where
protobuf's mapping would use base64. `parse_request` and `request_to_json` translate that twist,
so everything past this module works with the protobuf classes from opentelemetry-proto.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

SIGNALS = ("traces", "metrics", "logs")
PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_REQUESTS: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
_RESPONSES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "logs": ExportLogsServiceResponse,
}
# Both spellings: the OTLP spec asks receivers to accept the proto field names too.
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class PayloadError(ValueError):
    """The body could not be decoded as the export request of its signal."""


class UnsupportedMediaType(ValueError):
    """The content type is neither OTLP/protobuf nor OTLP/JSON."""


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def parse_request(signal: str, payload: bytes, content_type: str) -> Message:
    """Decode an (already decompressed) export request body of `signal`."""
    if signal not in _REQUESTS:
        raise ValueError(f"unknown signal {signal!r}; expected one of {', '.join(SIGNALS)}")
    message = _REQUESTS[signal]()
    kind = media_type(content_type)
    if kind == PROTOBUF:
        try:
            message.ParseFromString(payload)
        except DecodeError as exc:
            raise PayloadError(f"not a protobuf {message.DESCRIPTOR.name}: {exc}") from exc
        return message
    if kind == JSON:
        try:
            document = json.loads(payload)
        except ValueError as exc:
            raise PayloadError(f"not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise PayloadError("an OTLP/JSON body must be a JSON object")
        document = _ids_hex_to_base64(document)
        try:
            json_format.ParseDict(document, message, ignore_unknown_fields=True)
        except (ValueError, json_format.ParseError) as exc:
            raise PayloadError(f"not an OTLP/JSON {message.DESCRIPTOR.name}: {exc}") from exc
        return message
    raise UnsupportedMediaType(f"unsupported content type {content_type!r}")


def empty_response(signal: str, content_type: str) -> bytes:
    """The success answer: an empty Export*ServiceResponse in the request's encoding."""
    response = _RESPONSES[signal]()
    if media_type(content_type) == JSON:
        return json.dumps(request_to_json(response)).encode()
    return response.SerializeToString()


def request_to_json(message: Message) -> dict[str, Any]:
    """The OTLP/JSON object of a message: enums as integers, ids as hex."""
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    converted: dict[str, Any] = _convert_ids(document, _base64_to_hex)
    return converted


def request_from_json(signal: str, document: dict[str, Any]) -> Message:
    """Inverse of `request_to_json`, for capture files already parsed as JSON."""
    return parse_request(signal, json.dumps(document).encode(), JSON)


def _ids_hex_to_base64(document: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = _convert_ids(document, _hex_to_base64)
    return converted


def _convert_ids(node: Any, convert: Callable[[str], str]) -> Any:
    # Attribute keys live in {"key": ..., "value": ...} objects, so a JSON key named traceId
    # is always a real id field, never user data.
    if isinstance(node, dict):
        return {
            key: convert(value)
            if key in _ID_KEYS and isinstance(value, str)
            else _convert_ids(value, convert)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_convert_ids(item, convert) for item in node]
    return node


def _hex_to_base64(value: str) -> str:
    # Strict, like the collector: a base64 id here would silently decode to the wrong bytes.
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise PayloadError(f"ids must be hex strings in OTLP/JSON, not {value[:40]!r}") from exc
    return base64.b64encode(raw).decode("ascii")


def _base64_to_hex(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value
