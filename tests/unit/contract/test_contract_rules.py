"""Each contract rule fires on small hand-made bad telemetry, and a well-behaved checkout passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from contract_builders import (
    ORDER,
    REGISTRY,
    SECOND,
    T0,
    TRACEBACK,
    Capture,
    exception_event,
    good_checkout,
    log,
    point,
    resource,
    span,
    trace_id,
)
from wayfinder.contract.check import run_checks
from wayfinder.contract.model import Registry
from wayfinder.contract.registry import load_registry
from wayfinder.contract.report import Report
from wayfinder.contract.rules import RULES
from wayfinder.store.model import SpanLink


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY)


def check(capture: Capture, registry: Registry, window: timedelta | None = None) -> Report:
    return run_checks(capture.spans, capture.logs, capture.points, registry, window=window)


def test_a_well_behaved_checkout_passes(registry: Registry) -> None:
    report = check(good_checkout(), registry)
    assert report.ok, report.findings


def _lost_worker_trace() -> Capture:
    # The producer side kept the context; the worker started its own trace for the same order.
    producer = good_checkout()
    producer.spans = [s for s in producer.spans if s.service_name != "invoice-worker"]
    run = span(
        "run/invoice.create",
        service="invoice-worker",
        kind="CONSUMER",
        trace=trace_id(2),
        attributes={
            "celery.action": "run",
            "celery.task_name": "invoice.create",
            "messaging.message.id": "m-1",
        },
    )
    process = span(
        "invoice.worker.process",
        service="invoice-worker",
        trace=trace_id(2),
        parent=run.span_id,
        attributes={
            "job.type": "invoice.create",
            "order.id": ORDER,
            "queue.name": "invoice-events",
            "account.id": "acct-0001",
            "region": "eu-west",
            "retry.attempt": 0,
        },
    )
    return producer + Capture([run, process])


def _orphan() -> Capture:
    capture = good_checkout()
    capture.spans.append(
        span(
            "inventory.reserve",
            service="inventory",
            parent="ffffffffffffffff",
            attributes={"order.id": ORDER},
        )
    )
    return capture


def _over_budget() -> Capture:
    return Capture(
        [
            span(
                "payment.authorize",
                service="payment",
                trace=trace_id(n),
                attributes={
                    "order.id": ORDER,
                    "region": "us-east",
                    "payment.outcome": "authorized",
                    "retry.attempt": n,
                },
            )
            for n in range(7)
        ]
    )


def _one_span(name: str = "checkout.place_order", **fields: object) -> Callable[[], Capture]:
    return lambda: Capture([span(name, **fields)])  # type: ignore[arg-type]


# One piece of bad telemetry per rule id: the test below runs each and expects exactly that rule.
BAD: dict[str, Callable[[], Capture]] = {
    "span.name.unregistered": _one_span("checkout.do_everything"),
    "span.kind.mismatch": _one_span(kind="SERVER"),
    "span.name.high_cardinality": _one_span(
        "GET /orders/0b9a6c1e-3f2d-4a57-9c1e-5d7f0e8a2b44", kind="SERVER"
    ),
    "span.attribute.required_missing": lambda: Capture(
        [
            span(
                "payment.authorize",
                service="payment",
                attributes={"order.id": ORDER, "payment.outcome": "authorized"},  # no region
            )
        ]
    ),
    "span.attribute.undeclared": lambda: Capture(
        [
            span(
                "outbox.publish",
                service="outbox-relay",
                attributes={
                    "outbox.event_type": "invoice.create",
                    "queue.name": "invoice-events",
                    "order.id": ORDER,
                    "retry.attempt": 0,
                    "account.tier": "pro",  # registered for spans, but not for this one
                },
            )
        ]
    ),
    "span.error_undescribed": _one_span(status="ERROR"),
    "span_event.unregistered": lambda: Capture(
        [span("checkout.place_order", events=(replace(exception_event(), name="cache.miss", attributes={}),))]
    ),
    "attribute.unregistered": _one_span(attributes={"customer.tier": "gold"}),
    "attribute.signal": lambda: Capture(
        points=[
            point(
                "checkout.request.duration",
                attributes={
                    "http.route": "/checkout",
                    "http.request.method": "POST",
                    "checkout.outcome": "success",
                    "order.id": ORDER,
                },
            )
        ]
    ),
    "attribute.type": _one_span(attributes={"order.item_count": "2"}),
    "attribute.enum": _one_span(attributes={"region": "mars-north"}),
    "attribute.cardinality": _over_budget,
    "attribute.stacktrace": _one_span(attributes={"error.type": TRACEBACK}),
    "metric.unregistered": lambda: Capture(points=[point("checkout.latency_ms", unit="ms")]),
    "metric.instrument": lambda: Capture(
        points=[
            point(
                "payment.provider.retries",
                kind="sum",
                unit="{retry}",
                monotonic=False,
                service="payment",
                attributes={"region": "eu-west", "retry.reason": "timeout"},
            )
        ]
    ),
    "metric.unit": lambda: Capture(
        points=[
            point(
                "invoice.job.lag",
                unit="ms",
                service="invoice-worker",
                attributes={"queue.name": "invoice-events"},
            )
        ]
    ),
    "metric.attribute_undeclared": lambda: Capture(
        points=[
            point(
                "invoice.job.lag",
                service="invoice-worker",
                attributes={"queue.name": "invoice-events", "region": "eu-west"},
            )
        ]
    ),
    "pii.email": lambda: Capture(logs=[log("welcome back, jane.doe@example.com")]),
    "pii.card_number": lambda: Capture(
        points=[point("outbox.pending", kind="gauge", unit="{event}", service="outbox-relay")],
        spans=[span("checkout.place_order", message="card 4111-1111-1111-1111")],
    ),
    "pii.card_token": _one_span(attributes={"order.id": "tok_visa_4242"}),
    "resource.required_missing": _one_span(res={"service.name": "checkout-api", "service.version": "0.1.0"}),
    "trace.orphan_span": _orphan,
    "trace.async_context_lost": _lost_worker_trace,
}


def test_every_rule_has_a_bad_example() -> None:
    assert set(BAD) == {rule.id for rule in RULES}


@pytest.mark.parametrize("rule_id", sorted(BAD))
def test_rule_fires_on_bad_telemetry(rule_id: str, registry: Registry) -> None:
    report = check(BAD[rule_id](), registry)
    assert rule_id in report.rules_violated, report.findings
    finding = next(f for f in report.findings if f.violation.rule == rule_id)
    assert finding.violation.service and finding.violation.subject


def test_unregistered_pre_stable_names_point_at_the_stable_ones(registry: Registry) -> None:
    report = check(_one_span("POST", kind="CLIENT", attributes={"http.method": "POST"})(), registry)
    (finding,) = [f for f in report.findings if f.violation.rule == "attribute.unregistered"]
    assert "http.request.method" in finding.violation.message
    assert "OTEL_SEMCONV_STABILITY_OPT_IN" in finding.violation.message


def test_an_unbounded_metric_label_breaks_two_rules(registry: Registry) -> None:
    bad = BAD["attribute.signal"]()
    assert {"attribute.signal", "metric.attribute_undeclared"} <= set(check(bad, registry).rules_violated)


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1111",  # Luhn-valid test Visa, spaces
        "card 4111 1111 1111 1111 for order 41111111-1111-1111-b140-0123456789ab",  # beside a UUID
        "5555-5555-5555-4444",  # Luhn-valid test Mastercard, dashes
        "378282246310005",  # Amex, 15 digits
    ],
)
def test_card_numbers_are_found_with_any_separator(text: str, registry: Registry) -> None:
    report = check(Capture(logs=[log(f"charged {text}")]), registry)
    assert report.rules_violated == ["pii.card_number"]


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "1717171717171",  # an epoch timestamp in ms
        "1750000000000000000",  # an epoch timestamp in ns
        "4bf92f3577b34da6a3ce929d0e0e4736",  # a trace id
        # A task id whose leading digit groups are Luhn-valid (seen in a load run's Celery logs)
        "Task invoice.create[41111111-1111-1111-b140-0123456789ab] succeeded",
        "celery@worker-1.wayfinder.internal",  # a Celery node name, not an email
        "12345",
    ],
)
def test_look_alikes_are_not_personal_data(text: str, registry: Registry) -> None:
    assert check(Capture(logs=[log(text)]), registry).ok


def test_personal_data_is_found_in_nested_values_and_masked_in_the_report(registry: Registry) -> None:
    from wayfinder.contract.report import render_json, render_text

    bad = Capture(
        logs=[
            log(
                "task received",
                service="invoice-worker",
                attributes={"data": {"args": ["jane.doe@example.com", "tok_visa"]}},
            )
        ]
    )
    report = check(bad, registry)
    # `data` is no longer a registered log field (Celery's blob is dropped at the source), so the
    # key is flagged too; the personal data inside it must be found regardless.
    assert report.rules_violated == ["attribute.unregistered", "pii.card_token", "pii.email"]
    for rendered in (render_text(report), render_json(report)):
        assert "jane.doe@example.com" not in rendered and "tok_visa" not in rendered


@pytest.mark.parametrize(
    "name",
    [
        "GET /orders/42",
        "GET http://checkout/orders",
        "invoice 123456",
        "GET /search?q=mug",
        "job 9f86d081884c",
    ],
)
def test_span_names_with_ids_or_urls_are_flagged(name: str, registry: Registry) -> None:
    assert "span.name.high_cardinality" in check(Capture([span(name)]), registry).rules_violated


def test_the_same_bad_span_name_pattern_is_one_finding(registry: Registry) -> None:
    spans = [span(f"GET /orders/{n}", kind="SERVER") for n in range(50)]
    report = check(Capture(spans), registry)
    names = [f for f in report.findings if f.violation.rule == "span.name.high_cardinality"]
    assert len(names) == 1 and names[0].count == 50


def test_stack_traces_are_allowed_only_in_exception_stacktrace(registry: Registry) -> None:
    sanctioned = good_checkout()  # has one on the exception event and one on a log record
    assert check(sanctioned, registry).ok
    celery_data = Capture(
        logs=[log("task failed", service="invoice-worker", attributes={"data": {"traceback": TRACEBACK}})]
    )
    assert check(celery_data, registry).rules_violated == ["attribute.stacktrace", "attribute.unregistered"]


def test_the_sdk_default_service_name_counts_as_missing(registry: Registry) -> None:
    unnamed = resource("unknown_service:python")
    place = next(s for s in good_checkout().spans if s.name == "checkout.place_order")
    report = check(Capture([replace(place, resource=unnamed)]), registry)
    assert report.rules_violated == ["resource.required_missing"]


def test_a_trace_without_its_root_is_incomplete_not_broken(registry: Registry) -> None:
    orphan_only = Capture(
        [
            span(
                "inventory.reserve",
                service="inventory",
                parent="ffffffffffffffff",
                attributes={"order.id": ORDER, "order.item_count": 1},
            )
        ]
    )
    assert check(orphan_only, registry).ok


def test_a_worker_linked_to_the_producer_trace_kept_its_context(registry: Registry) -> None:
    capture = _lost_worker_trace()
    run = next(s for s in capture.spans if s.name == "run/invoice.create")
    linked = replace(run, links=(SpanLink(trace_id(1), "0000000000000001"),))
    capture.spans = [linked if s is run else s for s in capture.spans]
    assert check(capture, registry).ok


def test_a_relay_that_drops_the_outbox_context_is_caught_too(registry: Registry) -> None:
    capture = good_checkout()
    publish = next(s for s in capture.spans if s.name == "outbox.publish")
    detached = {s.span_id for s in capture.spans if s.service_name in {"outbox-relay", "invoice-worker"}}
    capture.spans = [
        replace(s, trace_id=trace_id(3), parent_span_id=None if s is publish else s.parent_span_id)
        if s.span_id in detached
        else s
        for s in capture.spans
    ]
    report = check(capture, registry)
    assert report.rules_violated == ["trace.async_context_lost"]
    assert report.findings[0].violation.subject == "outbox.publish"


def test_a_worker_without_a_matching_producer_is_not_judged(registry: Registry) -> None:
    # No producer anywhere carries this order (sampled out, or before the window): no evidence.
    capture = _lost_worker_trace()
    capture.spans = [s for s in capture.spans if s.service_name == "invoice-worker"]
    assert check(capture, registry).ok


def test_the_window_keeps_only_the_newest_data(registry: Registry) -> None:
    old = Capture([span("checkout.do_everything", start=T0 - 3600 * SECOND)])
    fresh = good_checkout()
    assert not check(old + fresh, registry).ok
    assert check(old + fresh, registry, window=timedelta(minutes=10)).ok


def test_budgets_count_per_service(registry: Registry) -> None:
    # 4 distinct retry attempts in each of two services stays within the budget of 6 per service.
    client = next(s for s in good_checkout().spans if s.name == "POST")
    spans = [
        replace(
            client,
            service_name=service,
            trace_id=trace_id(n),
            resource=resource(service),
            attributes={**client.attributes, "retry.attempt": n},
        )
        for service in ("payment", "checkout-api")
        for n in range(4)
    ]
    assert check(Capture(spans), registry).ok


def test_every_missing_required_attribute_is_named(registry: Registry) -> None:
    bare = Capture([span("invoice.worker.process", service="invoice-worker")])
    report = check(bare, registry)
    assert report.rules_violated == ["span.attribute.required_missing"]
    (place,) = registry.span_defs_for("invoice.worker.process")
    named = {f.violation.attribute for f in report.findings}
    assert named == set(place.required) and named >= {"order.id", "job.type"}


def test_missing_conditional_and_recommended_attributes_are_not_violations(registry: Registry) -> None:
    # A successful checkout has no error.type (conditional) and this one no account.tier
    # (recommended): only the required ones are judged on a single span.
    capture = good_checkout()
    place = next(s for s in capture.spans if s.name == "checkout.place_order")
    assert "error.type" not in place.attributes
    trimmed = {k: v for k, v in place.attributes.items() if k != "account.tier"}
    capture.spans = [replace(s, attributes=trimmed) if s is place else s for s in capture.spans]
    assert check(capture, registry).ok


def test_a_required_attribute_missing_on_one_span_of_many_is_found(registry: Registry) -> None:
    capture = good_checkout() + good_checkout(trace_id(7))
    victim = next(s for s in capture.spans if s.name == "outbox.publish" and s.trace_id == trace_id(7))
    stripped = {k: v for k, v in victim.attributes.items() if k != "queue.name"}
    capture.spans = [replace(s, attributes=stripped) if s is victim else s for s in capture.spans]
    report = check(capture, registry)
    assert report.rules_violated == ["span.attribute.required_missing"]
    (finding,) = report.findings
    assert finding.count == 1 and finding.violation.trace_id == trace_id(7)
    assert (finding.violation.subject, finding.violation.attribute) == ("outbox.publish", "queue.name")


def test_required_attributes_of_pattern_spans_are_enforced_too(registry: Registry) -> None:
    client = span("POST", kind="CLIENT", attributes={"http.request.method": "POST"})  # no url.full
    report = check(Capture([client]), registry)
    assert report.rules_violated == ["span.attribute.required_missing"]
    assert "url.full" in {f.violation.attribute for f in report.findings}


def test_an_attribute_registered_for_spans_but_not_this_one_is_named(registry: Registry) -> None:
    report = check(BAD["span.attribute.undeclared"](), registry)
    assert report.rules_violated == ["span.attribute.undeclared"]
    (finding,) = report.findings
    assert (finding.violation.subject, finding.violation.attribute) == ("outbox.publish", "account.tier")
    assert "outbox.publish" in finding.violation.message
