"""Outcomes as real processes export them: a 201, a 402, a 503 and a 500 each leave the code the
API answered with on checkout.request.duration, spans follow the semantic conventions (a 4xx is
the caller's, a 5xx ours), an exhausted retry budget is a metric, and the alert rules and their
promtool tests use exactly the label values seen here.

A second checkout-api and a second payment (a retry budget of one retry per window, so it runs
out on the second failure) serve these requests; both share the shop's database, provider, OTLP
receiver and sealed fault state (the route.crash hook gives a real 500).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from wayfinder.promnames import label_name, series_names

from tests.e2e.conftest import Shop
from tests.support import poll_until

ROOT = Path(__file__).resolve().parents[2]
RULE_TESTS = ROOT / "prometheus" / "tests"
CHECKOUT = "/checkout"
# acct-0001's tier in the seed data (checkout-api migration 0001).
TIER = "pro"
DECLINING_CARD = "tok_decline"
# Label values promtool tests may use without a series behind them: a bucket bound, the OTLP job.
UNCHECKED_LABELS = {"le", "job", "instance"}


@pytest.fixture(scope="module")
def drill(shop: Shop) -> Iterator[dict[str, httpx.Response]]:
    """Every answer the checkout gives, each once, through the drill's own checkout-api and payment."""
    with (
        shop.extra_service(
            "payment", "payment", RETRY_BUDGET_RATIO="0", RETRY_BUDGET_MIN_PER_WINDOW="1"
        ) as payment,
        shop.extra_service("checkout-api", "checkout_api", PAYMENT_URL=payment) as checkout,
    ):
        answers = {
            "success us-east": shop.checkout(region="us-east", base_url=checkout),
            "success eu-west": shop.checkout(region="eu-west", base_url=checkout),
            "declined eu-west": shop.checkout(region="eu-west", card_token=DECLINING_CARD, base_url=checkout),
            "declined us-east": shop.checkout(region="us-east", card_token=DECLINING_CARD, base_url=checkout),
        }
        # The provider rate-limits: one retry fits the budget, the next retry does not.
        for region in ("eu-west", "us-east"):
            shop.set_fault(f"authorize:{region}", rate_limit_rate=1.0, retry_after_s=0)
            try:
                answers[f"unavailable {region}"] = shop.checkout(region=region, base_url=checkout)
            finally:
                shop.reset_faults()
        # A bug in the checkout route, through the generic route.crash hook of the sealed state.
        shop.faults.switch_on("route.crash", "checkout", {"crash_rate": 1.0})
        try:
            answers["crash eu-west"] = shop.checkout(region="eu-west", base_url=checkout)
        finally:
            shop.reset_faults()
        yield answers


def test_each_answer_has_its_status_and_error_code(drill: dict[str, httpx.Response]) -> None:
    answered = {what: (r.status_code, r.json().get("error", "success")) for what, r in drill.items()}
    assert answered == {
        "success us-east": (201, "success"),
        "success eu-west": (201, "success"),
        "declined eu-west": (402, "payment_declined"),
        "declined us-east": (402, "payment_declined"),
        "unavailable eu-west": (503, "payment_provider_unavailable"),
        "unavailable us-east": (503, "payment_provider_unavailable"),
        "crash eu-west": (500, "internal_error"),
    }


def _checkout_points(shop: Shop) -> list[Any]:
    return [
        p
        for p in shop.store.metric_points(name="checkout.request.duration", service="checkout-api")
        if p.attributes.get("http.route") == CHECKOUT
    ]


def test_checkout_outcome_is_the_answered_code_for_402_503_and_500(
    shop: Shop, drill: dict[str, httpx.Response]
) -> None:
    expected = [
        {"checkout.outcome": code, "region": region}
        for code, region in [
            ("success", "us-east"),
            ("payment_declined", "eu-west"),
            ("payment_provider_unavailable", "eu-west"),
            ("internal_error", "eu-west"),
        ]
    ]

    def all_outcomes() -> list[dict[str, Any]] | None:
        # Only the drill's own checkout-api: a scenario's load earlier in the session also
        # declines cards in eu-west, for other account tiers. Only the drill crashes.
        points = _checkout_points(shop)
        drill_process = {
            p.resource.get("service.instance.id")
            for p in points
            if p.attributes.get("checkout.outcome") == "internal_error"
        }
        seen = [dict(p.attributes) for p in points if p.resource.get("service.instance.id") in drill_process]
        found = all(any(e.items() <= s.items() for s in seen) for e in expected)
        return seen if found else None

    seen = poll_until(all_outcomes, f"checkout.request.duration points for {expected}")
    for labels in expected:
        exported = next(s for s in seen if labels.items() <= s.items())
        # One decision: the metric carries the whole scope too, the crash included.
        assert exported == {
            **labels,
            "http.route": CHECKOUT,
            "http.request.method": "POST",
            "account.tier": TIER,
        }
    # Never the fallback: every answer of the drill's checkout route has its own code. Only the
    # drill's own process is judged: the session's other tests share the store, and a framework
    # answer (a 405, say) rightly has no domain code.
    points = _checkout_points(shop)
    drill_process = {
        p.resource.get("service.instance.id")
        for p in points
        if p.attributes.get("checkout.outcome") == "internal_error"  # only the drill crashes
    }
    assert drill_process
    assert all(
        p.attributes["checkout.outcome"] != "error"
        for p in points
        if p.resource.get("service.instance.id") in drill_process
    )


def test_the_error_rate_alert_matches_server_failures_only(
    shop: Shop, drill: dict[str, httpx.Response]
) -> None:
    rule = next(
        r
        for group in yaml.safe_load((ROOT / "prometheus" / "rules" / "checkout.yml").read_text())["groups"]
        for r in group["rules"]
        if r.get("alert") == "CheckoutErrorRateHigh"
    )
    (pattern,) = set(re.findall(r'checkout_outcome=~"([^"]+)"', rule["expr"]))

    def outcomes() -> set[str]:
        return {p.attributes["checkout.outcome"] for p in _checkout_points(shop)}

    poll_until(lambda: len(outcomes()) >= 4, "four outcomes")
    by_status = {r.status_code: r.json().get("error", "success") for r in drill.values()}
    emitted = outcomes()
    assert {by_status[503], by_status[500]} <= emitted
    # PromQL regex matchers are anchored at both ends.
    assert re.fullmatch(pattern, by_status[503]) and re.fullmatch(pattern, by_status[500])
    assert not re.fullmatch(pattern, by_status[402]) and not re.fullmatch(pattern, by_status[201])


def _spans_of(shop: Shop, response: httpx.Response) -> list[Any]:
    return shop.spans_until(shop.trace_of(response), {"checkout.place_order", "payment.authorize"})


def test_a_declined_card_is_an_answer_on_every_server_and_business_span(
    shop: Shop, drill: dict[str, httpx.Response]
) -> None:
    spans = _spans_of(shop, drill["declined eu-west"])
    judged = [s for s in spans if s.kind in ("SERVER", "INTERNAL")]
    assert {s.name for s in judged} >= {"POST /checkout", "checkout.place_order", "payment.authorize"}
    assert [(s.name, s.status_code) for s in judged if s.status_code != "UNSET"] == []
    for name in ("checkout.place_order", "payment.authorize", "POST /checkout"):
        span = next(s for s in judged if s.name == name)
        assert span.attributes["error.type"] == "payment_declined", name
    place = next(s for s in spans if s.name == "checkout.place_order")
    assert place.attributes["checkout.outcome"] == "payment_declined"


def test_server_failures_mark_the_server_and_business_spans_error(
    shop: Shop, drill: dict[str, httpx.Response]
) -> None:
    unavailable = _spans_of(shop, drill["unavailable eu-west"])
    for name in ("checkout.place_order", "payment.authorize"):
        span = next(s for s in unavailable if s.name == name)
        assert (span.status_code, span.attributes["error.type"]) == (
            "ERROR",
            "payment_provider_unavailable",
        ), name
    # On a 5xx the HTTP instrumentation writes the status code as the server span's error.type
    # (semantic conventions' fallback): the domain code lives on the business span beneath it.
    server = next(s for s in unavailable if s.name == "POST /checkout" and s.kind == "SERVER")
    assert (server.status_code, server.attributes["http.response.status_code"]) == ("ERROR", 503)

    spans = shop.spans_until(
        shop.trace_of(drill["crash eu-west"]), {"POST /checkout", "checkout.place_order"}
    )
    server = next(s for s in spans if s.name == "POST /checkout" and s.kind == "SERVER")
    assert (server.status_code, server.attributes["http.response.status_code"]) == ("ERROR", 500)
    (exception,) = [e for e in server.events if e.name == "exception"]
    # A bug like any other: nothing on the span names the hook that caused it.
    assert exception.attributes["exception.type"] == "RuntimeError"
    assert "fault" not in exception.attributes["exception.message"]


def test_the_failed_attempt_span_carries_its_attempt_and_region(
    shop: Shop, drill: dict[str, httpx.Response]
) -> None:
    spans = _spans_of(shop, drill["unavailable eu-west"])
    attempts = sorted(
        (
            s
            for s in spans
            if s.service_name == "payment" and s.kind == "CLIENT" and "retry.attempt" in s.attributes
        ),
        key=lambda s: s.start_unix_nano,
    )
    # The article's step, read from one span: the attempt that failed, its number and region.
    assert [(a.attributes["retry.attempt"], a.attributes["region"]) for a in attempts] == [
        (0, "eu-west"),
        (1, "eu-west"),
    ]
    assert all(a.attributes["http.response.status_code"] == 429 for a in attempts)


def test_an_exhausted_retry_budget_is_counted(shop: Shop, drill: dict[str, httpx.Response]) -> None:
    def refused() -> set[tuple[str, str]] | None:
        found = {
            (p.attributes["region"], p.attributes["retry.reason"])
            for p in shop.store.metric_points(
                name="payment.provider.retry_budget.exhausted", service="payment"
            )
        }
        return found if {("eu-west", "rate_limited"), ("us-east", "rate_limited")} <= found else None

    assert poll_until(refused, "payment.provider.retry_budget.exhausted for eu-west and us-east")


def _series(text: str) -> tuple[str, dict[str, str]]:
    match = re.fullmatch(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s*", text)
    assert match, text
    return match.group(1), dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', match.group(2)))


def _exported_series(shop: Shop) -> dict[str, list[dict[str, str]]]:
    """Prometheus series name -> the label sets (attributes, translated) exported for it."""
    exported: dict[str, list[dict[str, str]]] = {}
    for point in shop.store.metric_points():
        labels = {label_name(k): str(v) for k, v in point.attributes.items()}
        for series in series_names(point.name, point.unit, point.kind, point.monotonic):
            exported.setdefault(series, []).append(labels)
    return exported


@pytest.mark.parametrize("rule_test", ["checkout_test.yml", "payment_test.yml"])
def test_rule_tests_use_label_values_the_services_exported(
    shop: Shop, drill: dict[str, httpx.Response], rule_test: str
) -> None:
    wanted = [
        _series(series["series"])
        for case in yaml.safe_load((RULE_TESTS / rule_test).read_text())["tests"]
        for series in case["input_series"]
    ]

    def unseen() -> list[str]:
        exported = _exported_series(shop)
        return [
            f"{name}{labels}"
            for name, labels in wanted
            if not any(
                {k: v for k, v in labels.items() if k not in UNCHECKED_LABELS}.items() <= seen.items()
                for seen in exported.get(name, [])
            )
        ]

    # Metric exports lag the requests: wait for them, then name whatever never came.
    with contextlib.suppress(AssertionError):
        poll_until(lambda: not unseen(), f"every input series of {rule_test} among the exported ones", 15)
    assert unseen() == []
