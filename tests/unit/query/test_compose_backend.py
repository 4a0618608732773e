"""The compose stack's backend (Prometheus, Tempo, Loki over HTTP) against recorded answers."""

from __future__ import annotations

import argparse
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from wayfinder.query.cli import run_alerts, run_metrics, run_traces
from wayfinder.query.compose import ComposeBackend
from wayfinder.query.model import QueryError, TraceQuery
from wayfinder.query.settings import ComposeEndpoints
from wayfinder.query.traceql import traceql

from tests.unit.query.conftest import Replay

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ENDPOINTS = ComposeEndpoints(
    prometheus_url="http://prometheus.test:9090",
    tempo_url="http://tempo.test:3200",
    loki_url="http://loki.test:3100",
    grafana_url="http://grafana.test:3000",
)


def backend(replay: Replay, routes: dict[str, tuple[int, str]]) -> ComposeBackend:
    replay.routes.update(routes)
    return ComposeBackend(ENDPOINTS, replay.client())


def pane(link: str | None) -> dict[str, object]:
    """The one Explore pane a link opens."""
    assert link is not None and link.startswith("http://grafana.test:3000/explore?")
    query = parse_qs(urlsplit(link).query)
    assert query["schemaVersion"] == ["1"]
    panes = json.loads(query["panes"][0])
    (only,) = panes.values()
    return dict(only)


def test_alerts_with_dashboard_links_and_an_explore_link(replay: Replay) -> None:
    compose = backend(replay, {"/api/v1/alerts": (200, "prometheus_alerts.json")})
    out = io.StringIO()
    assert run_alerts(compose, argparse.Namespace(json=False), out) == 0
    text = out.getvalue()
    assert text.index("FIRING  PaymentProviderRetriesHigh") < text.index("PENDING CheckoutLatencyHigh")
    assert (
        "runbook: https://github.com/wayfinder/wayfinder/blob/main/docs/runbooks/checkout-latency.md" in text
    )
    assert (
        "dashboard: http://127.0.0.1:3000/d/wayfinder-checkout/checkout-overview?var-region=eu-west" in text
    )
    link = next(line for line in text.splitlines() if line.startswith("Grafana: ")).removeprefix("Grafana: ")
    explored = pane(link)
    assert explored["datasource"] == "prometheus"
    assert explored["queries"] == [  # type: ignore[comparison-overlap]
        {
            "refId": "A",
            "datasource": {"type": "prometheus", "uid": "prometheus"},
            "expr": 'ALERTS{alertstate=~"firing|pending"}',
            "range": True,
        }
    ]


def test_no_alerts(replay: Replay) -> None:
    out = io.StringIO()
    compose = backend(replay, {"/api/v1/alerts": (200, "prometheus_alerts_empty.json")})
    run_alerts(compose, argparse.Namespace(json=False), out)
    assert out.getvalue().startswith("No alerts firing or pending.")


def test_metrics_breakdown_table_chart_exemplars_and_link(replay: Replay) -> None:
    compose = backend(
        replay,
        {
            "/api/v1/label/__name__/values": (200, "prometheus_names.json"),
            "/api/v1/query": (200, "prometheus_vector.json"),
            "/api/v1/query_range": (200, "prometheus_matrix.json"),
            "/api/v1/query_exemplars": (200, "prometheus_exemplars.json"),
        },
    )
    args = argparse.Namespace(
        name="checkout.request.duration",
        by="region",
        quantile=0.95,
        window="5m",
        range_s=900.0,
        exemplars=True,
        limit=2,
        json=False,
    )
    out = io.StringIO()
    assert run_metrics(compose, args, out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "checkout_request_duration_seconds p95 over [5m] by region"
    rows = lines[2:5]
    assert [row.split() for row in rows] == [
        ["eu-west", "1,620.0", "ms", "▁▂▆█"],
        ["us-east", "87.5", "ms", "▁▁▁▁"],  # on the same scale as eu-west: flat
        ["ap-south", "-"],
    ]
    text = out.getvalue()
    assert f"{TRACE}" in text and "0af7651916cd43dd8448eb211c80319c" in text
    assert "a3ce929d0e0e47364bf92f3577b34da6" not in text  # --limit 2: the two slowest
    assert f"Next: uv run wayfinder trace {TRACE}" in text
    links = [line.removeprefix("Grafana: ") for line in lines if line.startswith("Grafana: ")]
    queries = [pane(link)["queries"][0]["expr"] for link in links]  # type: ignore[index]
    assert queries == [
        "histogram_quantile(0.95, sum by (le, region) (rate(checkout_request_duration_seconds_bucket[5m])))",
        "checkout_request_duration_seconds_bucket",
    ]


def test_metrics_error_answer(replay: Replay) -> None:
    compose = backend(
        replay,
        {
            "/api/v1/label/__name__/values": (200, "prometheus_names.json"),
            "/api/v1/query": (400, "prometheus_error.json"),
        },
    )
    with pytest.raises(QueryError, match="bad_data"):
        compose.breakdown("checkout.request.duration", "region", 0.95, "5m", 900)


def test_trace_by_id_as_span_records(replay: Replay) -> None:
    answer = backend(replay, {f"/api/traces/{TRACE}": (200, "tempo_trace.json")}).trace(TRACE)
    spans = answer.value
    assert [(s.name, s.service_name, s.trace_id) for s in spans] == [
        ("POST /checkout", "checkout-api", TRACE),
        ("payment.authorize", "payment", TRACE),
    ]
    root, authorize = spans
    assert root.parent_span_id is None and root.kind == "SERVER"
    assert authorize.parent_span_id == root.span_id == "53995c3f42cd8ad8"
    assert authorize.status_code == "ERROR" and authorize.attributes["region"] == "eu-west"
    assert authorize.duration_ms == pytest.approx(1800)
    assert pane(answer.link)["queries"][0]["query"] == TRACE  # type: ignore[index]


def test_a_trace_tempo_does_not_have_is_empty(replay: Replay) -> None:
    assert backend(replay, {}).trace(TRACE).value == []  # the replay answers 404


def test_tempo_error_answer(replay: Replay) -> None:
    with pytest.raises(QueryError, match="Tempo answered HTTP 400: invalid TraceQL query"):
        backend(replay, {"/api/search": (400, "tempo_error.txt")}).search_traces(TraceQuery(span_name="x"))


def test_trace_search_sends_traceql_and_lists_summaries(replay: Replay) -> None:
    compose = backend(replay, {"/api/search": (200, "tempo_search.json")})
    query = TraceQuery(attributes=(("region", "eu-west"),), min_duration_s=0.5, errors=True, limit=5)
    out = io.StringIO()
    args = argparse.Namespace(
        service=None, span_name=None, min_duration_s=0.5, attr=[("region", "eu-west")], errors=True, limit=5
    )
    run_traces(compose, args, out)
    (sent,) = replay.params("/api/search")
    assert sent["q"] == traceql(query) == '{ duration >= 500ms && .region = "eu-west" } && { status = error }'
    assert sent["limit"] == "5"
    text = out.getvalue()
    assert TRACE in text and "0af7651916cd43dd8448eb211c80319c" in text  # leading zero restored
    assert "POST /checkout  1,843.0 ms       ?  checkout-api" in text  # errors unknown in a search answer


def test_trace_search_with_nothing_found(replay: Replay) -> None:
    answer = backend(replay, {"/api/search": (200, "tempo_search_empty.json")}).search_traces(TraceQuery())
    assert answer.value == [] and answer.query == "{ }"


def test_traceql_quotes_values() -> None:
    query = TraceQuery(service="payment", span_name='say "hi"', attributes=(("order.id", "a\\b"),))
    assert traceql(query) == (
        '{ resource.service.name = "payment" && name = "say \\"hi\\"" && .order.id = "a\\\\b" }'
    )


def test_logs_of_a_trace_through_logql(replay: Replay) -> None:
    answer = backend(replay, {"/loki/api/v1/query_range": (200, "loki_query_range.json")}).trace_logs(TRACE)
    (sent,) = replay.params("/loki/api/v1/query_range")
    assert sent["query"] == answer.query == f'{{service_name=~".+"}} | trace_id="{TRACE}"'
    assert sent["direction"] == "forward"
    assert [(r.service_name, r.severity_text, r.body) for r in answer.value] == [
        ("payment", "WARNING", "authorizing payment"),
        ("payment", "WARNING", "provider answered 429, retrying after 0.8 s"),
        ("checkout-api", "INFO", "order placed"),
    ]
    assert answer.value[0].trace_id == TRACE and answer.value[0].attributes == {"region": "eu-west"}
    assert pane(answer.link)["queries"][0]["expr"] == answer.query  # type: ignore[index]


def test_no_logs(replay: Replay) -> None:
    answer = backend(replay, {"/loki/api/v1/query_range": (200, "loki_query_range_empty.json")}).trace_logs(
        TRACE
    )
    assert answer.value == []


def test_loki_error_answer(replay: Replay) -> None:
    with pytest.raises(QueryError, match="Loki answered HTTP 400: parse error"):
        backend(replay, {"/loki/api/v1/query_range": (400, "loki_error.txt")}).trace_logs(TRACE)


def test_logs_refuse_what_is_not_a_trace_id(replay: Replay) -> None:
    with pytest.raises(QueryError, match="not a trace id"):
        backend(replay, {}).trace_logs('x"} or {a="b')
    assert replay.requests == []
