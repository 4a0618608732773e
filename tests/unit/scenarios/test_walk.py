"""`wayfinder walk`: which metric an alert reads, and the steps of a walk over a fake backend (the
real walk, end to end on real processes, is tests/e2e/test_walk.py)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from wayfinder.query.model import Alert, Answer, Breakdown, ExemplarRef, MetricRef, Series, TraceQuery
from wayfinder.scenarios import catalog
from wayfinder.scenarios.grading import step_two_label
from wayfinder.scenarios.walk import Walk, alert_metric, base_name
from wayfinder.store.model import LogRecordRow, SpanRecord

RULES = Path(__file__).resolve().parents[3] / "prometheus" / "rules"
TRACE = "a" * 32
STARTED = 1_800_000_000.0  # the walk's start, Unix seconds
STALE = "2027-01-15T07:59:00.123456789Z"  # a minute before STARTED
FRESH = "2027-01-15T08:00:20.5Z"


@pytest.mark.parametrize(
    ("alert", "series"),
    [
        ("CheckoutLatencyHigh", "checkout_request_duration_seconds_bucket"),
        ("CheckoutErrorRateHigh", "checkout_request_duration_seconds_count"),
        ("OutboxBacklogHigh", "outbox_pending"),
        ("PaymentRetryAmplification", "payment_provider_retries_total"),
        ("TelemetryCollectorDown", "up"),
        ("NoSuchAlert", None),
    ],
)
def test_the_metric_an_alert_reads_comes_from_its_rule(alert: str, series: str | None) -> None:
    assert alert_metric(alert, RULES) == series


def test_a_histograms_series_is_walked_as_its_metric() -> None:
    assert base_name("checkout_request_duration_seconds_bucket") == "checkout_request_duration_seconds"
    assert base_name("payment_provider_retries_total") == "payment_provider_retries_total"


def _span(
    span_id: str, name: str, parent: str | None, start_ms: int, end_ms: int, **attributes: Any
) -> SpanRecord:
    service = {"POST /checkout": "checkout-api", "payment.authorize": "payment", "POST": "payment"}[name]
    return SpanRecord(
        trace_id=TRACE,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind="SERVER" if parent is None else "INTERNAL",
        start_unix_nano=start_ms * 1_000_000,
        end_unix_nano=end_ms * 1_000_000,
        status_code="UNSET",
        status_message="",
        service_name=service,
        attributes=attributes,
        resource={},
        scope_name="test",
    )


class FakeBackend:
    """Answers as the local backend would, for the walkthrough's incident."""

    name = "local"

    def __init__(self) -> None:
        self.alert_polls = 0

    def alerts(self) -> Answer[list[Alert]]:
        self.alert_polls += 1
        state = "firing" if self.alert_polls >= 3 else "pending"
        summary = {"summary": "p95 2.2s"}
        # Left firing by an earlier run (active long before this walk started): not this run's.
        stale = Alert("CheckoutLatencyHigh", "firing", {"region": "eu-west"}, summary, STALE, "2.2")
        alert = Alert("CheckoutLatencyHigh", state, {"region": "eu-west"}, summary, FRESH, "2.2")
        return Answer([stale, alert], "ALERTS")

    def breakdown(
        self, metric: str, by: str | None, quantile: float, window: str, range_s: float
    ) -> Answer[Breakdown]:
        values = {"eu-west": 2.2, "us-east": 0.1, "ap-south": 0.2}
        if metric == "payment_provider_retries_total":
            values = {"eu-west": 0.4}
        series = tuple(Series(k, v, ((0.0, v),)) for k, v in values.items())
        return Answer(Breakdown(MetricRef(metric, "histogram"), by, "p95", window, series), f"q({metric})")

    def exemplars(self, metric: str, by: str | None, range_s: float) -> Answer[list[ExemplarRef]]:
        other = ExemplarRef("b" * 32, "1", 0.3, 0.0, {"region": "us-east"})
        # Most eu-west checkouts stay fast: the walk must open the one near eu-west's p95.
        fast = ExemplarRef("c" * 32, "1", 0.2, 0.0, {"region": "eu-west"})
        outlier = ExemplarRef("d" * 32, "1", 7.0, 0.0, {"region": "eu-west"})
        slow = ExemplarRef(TRACE, "1", 2.1, 0.0, {"region": "eu-west", "checkout_outcome": "success"})
        # Nearer the p95, but a declined card (402): a detour, not the story's plain case.
        declined = ExemplarRef(
            "e" * 32, "1", 2.2, 0.0, {"region": "eu-west", "checkout_outcome": "payment_declined"}
        )
        return Answer([other, fast, outlier, declined, slow], "exemplars")

    def search_traces(self, query: TraceQuery) -> Answer[list[Any]]:
        raise AssertionError("the exemplar was enough")

    def trace(self, trace_id: str) -> Answer[list[SpanRecord]]:
        assert trace_id == TRACE
        spans = [
            _span("1" * 16, "POST /checkout", None, 0, 2300),
            _span("2" * 16, "payment.authorize", "1" * 16, 50, 2250, region="eu-west"),
            _span(
                "3" * 16, "POST", "2" * 16, 60, 90, **{"retry.attempt": 0, "http.response.status_code": 429}
            ),
            _span(
                "4" * 16,
                "POST",
                "2" * 16,
                1100,
                1130,
                **{"retry.attempt": 1, "http.response.status_code": 429},
            ),
            _span(
                "5" * 16,
                "POST",
                "2" * 16,
                2150,
                2240,
                **{"retry.attempt": 2, "http.response.status_code": 200},
            ),
        ]
        return Answer(spans, "trace")

    def trace_logs(self, trace_id: str) -> Answer[list[LogRecordRow]]:
        line = LogRecordRow(
            0,
            "WARN",
            13,
            "payment provider rate-limited the request",
            TRACE,
            "2" * 16,
            "payment",
            {"provider.retry_after_s": 1},
            {},
            "payment",
        )
        return Answer([line], "logs")


def test_a_walk_goes_alert_metric_trace_attributes_logs_scope_and_names_each_command() -> None:
    out, pauses, now = io.StringIO(), [], [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    walk = Walk(
        FakeBackend(),
        catalog.load("provider-rate-limit-eu-west"),
        10.0,
        out,
        lambda: pauses.append(1),
        rules_dir=RULES,
        clock=lambda: now[0],
        sleep=sleep,
        started_at=STARTED,
    )
    assert walk.run(wait_s=60) == 0
    text = out.getvalue()
    assert "CheckoutLatencyHigh is firing after 4 s" in text
    titles = [line for line in text.splitlines() if line.startswith("== Step")]
    assert [t.split(": ", 1)[1] for t in titles] == [
        "the alert",
        "the metric that moved, and where",
        "a representative trace",
        "payment.authorize's attributes, and its children's",
        "the logs of that trace",
        "the scope: one slice, or everywhere?",
    ]
    assert "$ wayfinder metrics checkout_request_duration_seconds --by region --window 30s" in text
    assert f"wayfinder trace {TRACE}" in text and "▶" in text  # the eu-west exemplar, span marked
    assert "retry.attempt=1" in text and "http.response.status_code=429" in text
    assert "payment provider rate-limited the request" in text
    assert "Only eu-west stands out" in text
    assert len(pauses) == 6


def test_a_walk_gives_up_when_the_alert_never_fires() -> None:
    class Silent(FakeBackend):
        def alerts(self) -> Answer[list[Alert]]:
            return Answer([], "ALERTS")

    out, now = io.StringIO(), [0.0]
    walk = Walk(
        Silent(),
        catalog.load("provider-rate-limit-eu-west"),
        10.0,
        out,
        lambda: None,
        rules_dir=RULES,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert walk.run(wait_s=20) == 1
    assert "did not fire within 20 s" in out.getvalue()


@pytest.mark.parametrize(
    ("scenario", "label"),
    [
        ("provider-rate-limit-eu-west", "region"),
        ("invoice-failures-enterprise", "account_tier"),
        ("redis-down", "queue_name"),  # the scope key `queue` is the queue_name label
        ("telemetry-pipeline-down", "job"),  # `up` has no region: its own breakdown, by job
    ],
)
def test_step_two_breaks_the_alerts_metric_down_by_a_label_it_has(scenario: str, label: str) -> None:
    loaded = catalog.load(scenario)
    metric = alert_metric(loaded.alert, RULES) if loaded.alert else None
    assert step_two_label(loaded, base_name(metric) if metric else None) == label
