"""The Prometheus side of the query layer against recorded Prometheus 3.14 API answers."""

from __future__ import annotations

import pytest
from wayfinder.query.model import MetricRef, QueryError
from wayfinder.query.prometheus_api import PrometheusAPI
from wayfinder.query.promql import breakdown_expr, resolve, seconds

from tests.unit.query.conftest import Replay, recorded

URL = "http://prometheus.test:9090"
NAMES = recorded("prometheus_names.json")["data"]  # type: ignore[index]
HISTOGRAM = MetricRef("checkout_request_duration_seconds", "histogram")


def api(replay: Replay, **routes: tuple[int, str]) -> PrometheusAPI:
    replay.routes.update({f"/api/v1/{path.replace('__', '/')}": answer for path, answer in routes.items()})
    return PrometheusAPI(URL, replay.client())


def test_alerts_firing_first_with_summary_and_runbook(replay: Replay) -> None:
    alerts = api(replay, alerts=(200, "prometheus_alerts.json")).alerts()
    assert [(a.name, a.state) for a in alerts] == [
        ("PaymentProviderRetriesHigh", "firing"),
        ("CheckoutLatencyHigh", "pending"),
    ]
    pending = alerts[1]
    assert pending.labels["region"] == "eu-west"
    assert pending.summary.startswith("Checkout p95 latency is 1.62s")
    assert pending.runbook.endswith("checkout-latency.md")
    assert "var-region=eu-west" in pending.dashboard


def test_no_alerts_is_an_empty_answer(replay: Replay) -> None:
    assert api(replay, alerts=(200, "prometheus_alerts_empty.json")).alerts() == []


def test_an_error_answer_raises_with_its_type_and_message(replay: Replay) -> None:
    with pytest.raises(QueryError, match="bad_data: invalid parameter"):
        api(replay, query=(400, "prometheus_error.json")).get("query", query="sum(")


def test_no_answer_at_all_is_a_query_error() -> None:
    with pytest.raises(QueryError, match="did not answer"):
        PrometheusAPI("http://127.0.0.1:1").alerts()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("checkout.request.duration", HISTOGRAM),
        ("checkout_request_duration_seconds", HISTOGRAM),
        ("checkout_request_duration_seconds_bucket", HISTOGRAM),
        ("payment.authorizations", MetricRef("payment_authorizations", "counter")),
        ("payment_authorizations_total", MetricRef("payment_authorizations", "counter")),
        ("outbox.pending", MetricRef("outbox_pending", "gauge")),
    ],
)
def test_otlp_and_prometheus_names_resolve_to_one_metric(name: str, expected: MetricRef) -> None:
    assert resolve(name, NAMES) == expected


def test_an_unknown_metric_names_similar_ones() -> None:
    with pytest.raises(QueryError, match="no metric named 'checkout.duration'.*checkout_request_duration"):
        resolve("checkout.duration", NAMES)


def test_expressions_per_kind() -> None:
    assert breakdown_expr(HISTOGRAM, "region", 0.95, "5m") == (
        "histogram_quantile(0.95, sum by (le, region) (rate(checkout_request_duration_seconds_bucket[5m])))"
    )
    counter = MetricRef("payment_authorizations", "counter")
    assert breakdown_expr(counter, None, 0.95, "1m") == "sum (rate(payment_authorizations_total[1m]))"
    assert breakdown_expr(MetricRef("outbox_pending", "gauge"), "service_name", 0.5, "5m") == (
        "sum by (service_name) (outbox_pending)"
    )
    # One service's series only: the filter goes inside the rate, before the aggregation.
    assert breakdown_expr(HISTOGRAM, "service_version", 0.95, "30s", (("service.name", "inventory"),)) == (
        "histogram_quantile(0.95, sum by (le, service_version) "
        '(rate(checkout_request_duration_seconds_bucket{service_name="inventory"}[30s])))'
    )
    with pytest.raises(QueryError):
        breakdown_expr(HISTOGRAM, None, 95, "5m")


def test_durations() -> None:
    assert seconds("500ms") == 0.5
    assert seconds("1s") == 1.0
    assert seconds("5m") == 300.0
    with pytest.raises(ValueError):
        seconds("fast")


def test_breakdown_puts_the_slow_region_first_and_no_data_last(replay: Replay) -> None:
    prometheus = api(
        replay, query=(200, "prometheus_vector.json"), query_range=(200, "prometheus_matrix.json")
    )
    expr, found = prometheus.breakdown(HISTOGRAM, "region", 0.95, "5m", 900)
    assert [(s.label_value, s.value) for s in found.series] == [
        ("eu-west", 1.62),
        ("us-east", 0.0875),
        ("ap-south", None),
    ]
    assert [v for _, v in found.series[0].points] == [0.09, 0.4, 1.2, 1.62]
    assert found.statistic == "p95"
    # The same expression for the table (instant) and the chart (range, 30 steps over the range).
    assert replay.params("/api/v1/query")[0]["query"] == expr
    ranged = replay.params("/api/v1/query_range")[0]
    assert ranged["query"] == expr and float(ranged["step"]) == 30.0


def test_breakdown_with_no_data_has_no_series(replay: Replay) -> None:
    prometheus = api(
        replay, query=(200, "prometheus_vector_empty.json"), query_range=(200, "prometheus_matrix_empty.json")
    )
    assert prometheus.breakdown(HISTOGRAM, "region", 0.95, "5m", 900)[1].series == ()


def test_exemplars_slowest_first_with_their_series(replay: Replay) -> None:
    selector, found = api(replay, query_exemplars=(200, "prometheus_exemplars.json")).exemplars(
        HISTOGRAM, 900
    )
    assert selector == "checkout_request_duration_seconds_bucket"
    assert [(e.trace_id, e.value) for e in found] == [
        ("4bf92f3577b34da6a3ce929d0e0e4736", 1.843),
        ("0af7651916cd43dd8448eb211c80319c", 1.71),
        ("a3ce929d0e0e47364bf92f3577b34da6", 0.082),
    ]
    assert found[0].series["region"] == "eu-west"


def test_no_exemplars(replay: Replay) -> None:
    assert (
        api(replay, query_exemplars=(200, "prometheus_exemplars_empty.json")).exemplars(HISTOGRAM, 60)[1]
        == []
    )
