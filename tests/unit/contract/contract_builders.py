"""Hand-made telemetry for the contract tests: small builders and one well-behaved checkout."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wayfinder.store.model import LogRecordRow, MetricPoint, SpanEvent, SpanLink, SpanRecord

REPO = Path(__file__).resolve().parents[3]
REGISTRY = REPO / "telemetry" / "registry"
T0 = 1_750_000_000 * 10**9  # a fixed "now" in unix nanoseconds
SECOND = 10**9
ORDER = "0b9a6c1e-3f2d-4a57-9c1e-5d7f0e8a2b44"
TRACEBACK = 'Traceback (most recent call last):\n  File "service.py", line 3, in run\nValueError: boom\n'
_ids = itertools.count(1)


def trace_id(n: int) -> str:
    return f"{n:032x}"


def new_span_id() -> str:
    return f"{next(_ids):016x}"


def resource(service: str, **extra: Any) -> dict[str, Any]:
    return {
        "service.name": service,
        "service.version": "0.1.0",
        "deployment.environment.name": "test",
        "service.namespace": "wayfinder",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": "1.45.1",
        **extra,
    }


def span(
    name: str,
    *,
    service: str = "checkout-api",
    kind: str = "INTERNAL",
    trace: str = trace_id(1),
    span_id: str | None = None,
    parent: str | None = None,
    attributes: dict[str, Any] | None = None,
    events: tuple[SpanEvent, ...] = (),
    links: tuple[SpanLink, ...] = (),
    status: str = "UNSET",
    message: str = "",
    start: int = T0,
    res: dict[str, Any] | None = None,
) -> SpanRecord:
    return SpanRecord(
        trace_id=trace,
        span_id=span_id or new_span_id(),
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_unix_nano=start,
        end_unix_nano=start + SECOND // 10,
        status_code=status,
        status_message=message,
        service_name=service,
        attributes=attributes or {},
        resource=res if res is not None else resource(service),
        scope_name=service,
        events=events,
        links=links,
    )


def log(
    body: str,
    *,
    service: str = "checkout-api",
    attributes: dict[str, Any] | None = None,
    trace: str | None = None,
    span_id: str | None = None,
    time: int = T0,
) -> LogRecordRow:
    return LogRecordRow(
        time_unix_nano=time,
        severity_text="INFO",
        severity_number=9,
        body=body,
        trace_id=trace,
        span_id=span_id,
        service_name=service,
        attributes=attributes or {},
        resource=resource(service),
        scope_name=f"{service}.service",
    )


def point(
    name: str,
    *,
    kind: str = "histogram",
    unit: str = "s",
    monotonic: bool | None = None,
    attributes: dict[str, Any] | None = None,
    service: str = "checkout-api",
    time: int = T0,
) -> MetricPoint:
    return MetricPoint(
        name=name,
        kind=kind,
        unit=unit,
        description="",
        monotonic=monotonic,
        service_name=service,
        attributes=attributes or {},
        resource=resource(service),
        scope_name=service,
        time_unix_nano=time,
        value=None if kind == "histogram" else 1.0,
        count=1 if kind == "histogram" else None,
        sum=0.2 if kind == "histogram" else None,
    )


def exception_event(stacktrace: str = TRACEBACK) -> SpanEvent:
    return SpanEvent(
        "exception",
        T0,
        {
            "exception.type": "ValueError",
            "exception.message": "boom",
            "exception.stacktrace": stacktrace,
            "exception.escaped": "False",
        },
    )


@dataclass
class Capture:
    """Spans, logs and metric points, as run_checks takes them."""

    spans: list[SpanRecord] = field(default_factory=list)
    logs: list[LogRecordRow] = field(default_factory=list)
    points: list[MetricPoint] = field(default_factory=list)

    def __add__(self, other: Capture) -> Capture:
        return Capture(self.spans + other.spans, self.logs + other.logs, self.points + other.points)


def good_checkout(trace: str = trace_id(1), order: str = ORDER) -> Capture:
    """One checkout the way the shop emits it: every boundary, the async hop, logs and metrics."""
    server = span(
        "POST /checkout",
        kind="SERVER",
        trace=trace,
        attributes={
            "http.request.method": "POST",
            "http.route": "/checkout",
            "http.response.status_code": 201,
            "url.scheme": "http",
            "url.path": "/checkout",
            "server.address": "127.0.0.1:8080",
            "server.port": 8080,
            "client.address": "127.0.0.1",
            "client.port": 50123,
            "network.protocol.version": "1.1",
            "user_agent.original": "python-httpx/0.28.1",
        },
    )
    place = span(
        "checkout.place_order",
        trace=trace,
        parent=server.span_id,
        attributes={
            "order.id": order,
            "account.id": "acct-0001",
            "account.tier": "pro",
            "region": "eu-west",
            "order.item_count": 2,
            "checkout.outcome": "success",
        },
    )
    select = span(
        "SELECT checkout.accounts",
        kind="CLIENT",
        trace=trace,
        parent=place.span_id,
        attributes={
            "db.system.name": "postgresql",
            "db.namespace": "wayfinder",
            "db.query.text": "SELECT id FROM checkout.accounts WHERE id = %(pk_1)s",
            "db.operation.name": "SELECT",
            "db.collection.name": "checkout.accounts",
            "server.address": "127.0.0.1",
            "server.port": 5432,
        },
    )
    client = span(
        "POST",
        kind="CLIENT",
        trace=trace,
        parent=place.span_id,
        attributes={
            "http.request.method": "POST",
            "url.full": "http://127.0.0.1:8082/authorizations",
            "server.address": "127.0.0.1",
            "server.port": 8082,
            "network.peer.address": "127.0.0.1",
            "network.peer.port": 8082,
            "http.response.status_code": 503,
            "error.type": "503",
            "network.protocol.version": "1.1",
        },
        status="ERROR",
    )
    authorize = span(
        "payment.authorize",
        service="payment",
        trace=trace,
        parent=client.span_id,
        attributes={"order.id": order, "region": "eu-west", "payment.outcome": "unavailable"},
        events=(exception_event(),),
        status="ERROR",
        message="payment_provider_unavailable",
    )
    publish = span(
        "outbox.publish",
        service="outbox-relay",
        trace=trace,
        parent=place.span_id,
        attributes={
            "outbox.event_type": "invoice.create",
            "queue.name": "invoice-events",
            "order.id": order,
            "retry.attempt": 0,
        },
    )
    apply_async = span(
        "apply_async/invoice.create",
        service="outbox-relay",
        kind="PRODUCER",
        trace=trace,
        parent=publish.span_id,
        attributes={
            "celery.action": "apply_async",
            "celery.task_name": "invoice.create",
            "messaging.message.id": "5d7f0e8a-2b44-4a57-9c1e-0b9a6c1e3f2d",
            "messaging.destination": "invoice-events",
        },
    )
    run = span(
        "run/invoice.create",
        service="invoice-worker",
        kind="CONSUMER",
        trace=trace,
        parent=apply_async.span_id,
        attributes={
            "celery.action": "run",
            "celery.task_name": "invoice.create",
            "celery.state": "SUCCESS",
            "celery.hostname": "celery@worker-1.wayfinder.internal",
            "messaging.message.id": "5d7f0e8a-2b44-4a57-9c1e-0b9a6c1e3f2d",
        },
    )
    process = span(
        "invoice.worker.process",
        service="invoice-worker",
        trace=trace,
        parent=run.span_id,
        attributes={
            "job.type": "invoice.create",
            "order.id": order,
            "queue.name": "invoice-events",
            "account.id": "acct-0001",
            "region": "eu-west",
            "retry.attempt": 0,
        },
    )
    spans = [server, place, select, client, authorize, publish, apply_async, run, process]
    logs = [
        log(
            "order confirmed",
            attributes={"order.id": order, "region": "eu-west"},
            trace=trace,
            span_id=place.span_id,
        ),
        log(
            "unhandled error",
            service="payment",
            attributes={
                "error.type": "ValueError",
                "exception.type": "ValueError",
                "exception.stacktrace": TRACEBACK,
            },
            trace=trace,
            span_id=authorize.span_id,
        ),
    ]
    points = [
        point(
            "checkout.request.duration",
            attributes={
                "http.route": "/checkout",
                "http.request.method": "POST",
                "checkout.outcome": "success",
                "region": "eu-west",
            },
        ),
        point(
            "payment.provider.retries",
            kind="sum",
            unit="{retry}",
            monotonic=True,
            service="payment",
            attributes={"region": "eu-west", "retry.reason": "rate_limited"},
        ),
        point(
            "invoice.jobs.in_flight",
            kind="sum",
            unit="{job}",
            monotonic=False,
            service="invoice-worker",
            attributes={"queue.name": "invoice-events"},
        ),
        point("outbox.pending", kind="gauge", unit="{event}", service="outbox-relay"),
    ]
    return Capture(spans, logs, points)
