"""decode/otlp edge cases the receiver tests do not reach: AnyValue shapes, id spellings, enums."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from wayfinder.store.decode import any_value, decode
from wayfinder.store.encode import to_any_value
from wayfinder.store.model import LogRecordRow
from wayfinder.store.otlp import PayloadError, UnsupportedMediaType, parse_request, request_to_json


@pytest.mark.parametrize(
    "value",
    ["text", True, False, 0, -7, 2.5, None, ["a", 1, [True]], {"k": {"nested": [1.5, "x"]}}],
)
def test_any_value_round_trips_json_friendly_values(value: object) -> None:
    assert any_value(to_any_value(value)) == value


def test_bytes_become_hex() -> None:
    assert any_value(AnyValue(bytes_value=b"\x00\xff")) == "00ff"


def test_snake_case_keys_and_enum_names_are_accepted_and_unknown_fields_ignored() -> None:
    body = {
        "resource_logs": [
            {
                "scope_logs": [
                    {
                        "log_records": [
                            {
                                "time_unix_nano": 5,
                                "severity_number": "SEVERITY_NUMBER_ERROR",
                                "body": {"stringValue": "boom"},
                                "trace_id": "0af7651916cd43dd8448eb211c80319c",
                                "span_id": "b7ad6b7169203331",
                                "a_field_from_the_future": 1,
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (record,) = decode("logs", json.dumps(body).encode(), "application/json; charset=utf-8").records
    assert isinstance(record, LogRecordRow)
    assert (record.time_unix_nano, record.severity_number, record.body) == (5, 17, "boom")
    assert (record.trace_id, record.span_id) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert record.service_name == "unknown_service"


def test_log_time_falls_back_to_the_observed_time() -> None:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.add(observed_time_unix_nano=42)
    (record,) = decode("logs", request.SerializeToString(), "application/x-protobuf").records
    assert isinstance(record, LogRecordRow)
    assert record.time_unix_nano == 42 and record.body == "" and record.trace_id is None


def test_json_export_keeps_ids_hex_and_parses_back() -> None:
    body = {
        "resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "0af7651916cd43dd8448eb211c80319c"}]}]}]
    }
    message = parse_request("logs", json.dumps(body).encode(), "application/json")
    assert request_to_json(message) == body


def test_errors_are_typed() -> None:
    with pytest.raises(PayloadError):
        parse_request(
            "traces",
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            "application/json",
        )
    short_id = ExportTraceServiceRequest()
    short_id.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01\x02\x03", span_id=b"\x01" * 8)
    with pytest.raises(PayloadError, match="16 bytes"):
        decode("traces", short_id.SerializeToString(), "application/x-protobuf")
    with pytest.raises(UnsupportedMediaType):
        parse_request("traces", b"", "application/grpc")
    with pytest.raises(ValueError, match="unknown signal"):
        parse_request("profiles", b"", "application/x-protobuf")
