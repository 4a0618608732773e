"""`wayfinder metrics`, `traces` and `alerts` on the real shop in local mode, with a real Prometheus.

Checkouts in two regions, a provider latency fault in one: the breakdown by region puts that
region first, the trace search by region and minimum duration finds its checkouts, the
exemplars point at them, and `alerts` lists what the local Prometheus reports.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from wayfinder.local.config import LocalConfig
from wayfinder.local.prerequisites import MissingPrerequisite, prometheus_server
from wayfinder.local.processes import ProcessTable
from wayfinder.local.prometheus import LocalPrometheus
from wayfinder.query.cli import run_alerts, run_metrics, run_traces
from wayfinder.query.local import LocalBackend
from wayfinder.query.prometheus_api import PrometheusAPI

from tests.e2e.conftest import Shop
from tests.support import free_port, missing_tool, poll_until

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 120  # scrapes and evaluations every 5 s, on a machine many test runs share
SLOW_MS = 1500  # above CheckoutLatencyHigh's 1 s p95 threshold
SCRAPED = 'sum by (region) (checkout_request_duration_seconds_count{region=~"eu-west|us-east"})'


@dataclass
class Incident:
    backend: LocalBackend
    slow: set[str]  # trace ids of the eu-west checkouts
    fast: set[str]  # trace ids of the us-east checkouts


@pytest.fixture(scope="module")
def incident(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Incident]:
    try:
        prometheus_server()
    except MissingPrerequisite as exc:
        missing_tool(str(exc))
    home = tmp_path_factory.mktemp("navigation-prometheus")
    store_port = urlsplit(shop.config.otlp_endpoint).port
    config = LocalConfig.model_validate(
        {"home": home, "store_port": store_port, "prometheus_port": free_port()}
    )
    prometheus = LocalPrometheus(
        config, ProcessTable(config.run_dir, config.log_dir), ROOT / "prometheus" / "rules"
    )
    prometheus.start()
    try:
        # A rate needs the series' value before the increase: one checkout per region first,
        # until Prometheus has scraped both series, then the ones the tests look at.
        api = PrometheusAPI(prometheus.url)
        for region in ("eu-west", "us-east"):
            _checkout(shop, region)
        poll_until(
            lambda: len(api.get("query", query=SCRAPED)["result"]) == 2,
            "Prometheus to scrape checkout latency in eu-west and us-east",
            WAIT_S,
        )
        shop.set_fault("authorize:eu-west", latency_ms=SLOW_MS)
        try:
            slow = {_checkout(shop, "eu-west") for _ in range(4)}
            fast = {_checkout(shop, "us-east") for _ in range(6)}
        finally:
            shop.reset_faults()
        for trace in slow | fast:
            shop.spans_until(trace, {"payment.authorize"})
        yield Incident(LocalBackend(shop.store, PrometheusAPI(prometheus.url)), slow, fast)
    finally:
        prometheus.stop()


def _checkout(shop: Shop, region: str) -> str:
    response = shop.checkout(region=region)
    assert response.status_code == 201, response.text
    return shop.trace_of(response)


def _metrics(backend: LocalBackend, **overrides: object) -> str:
    settings: dict[str, object] = {
        "name": "checkout.request.duration",
        "by": "region",
        "quantile": 0.95,
        "window": "5m",
        "range_s": 600.0,
        "exemplars": False,
        "limit": 10,
        "json": False,
    }
    out = io.StringIO()
    assert run_metrics(backend, argparse.Namespace(**{**settings, **overrides}), out) == 0
    return out.getvalue()


def _rows(text: str) -> list[list[str]]:
    """The breakdown table's data rows (between the header and the chart scale)."""
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("chart scale"))
    return [line.split() for line in lines[2:end]]


def test_metrics_by_region_shows_the_slow_region_first(incident: Incident) -> None:
    def both_regions() -> str | None:
        text = _metrics(incident.backend)
        if "chart scale" not in text:
            return None
        regions = [row[0] for row in _rows(text) if row[1] != "-"]
        return text if {"eu-west", "us-east"} <= set(regions) else None

    text = poll_until(both_regions, "checkout p95 for eu-west and us-east in the local Prometheus", WAIT_S)
    rows = _rows(text)
    assert rows[0][0] == "eu-west", text
    assert text.splitlines()[0] == "checkout_request_duration_seconds p95 over [5m] by region"
    assert "query: histogram_quantile(0.95, sum by (le, region)" in text
    assert "Grafana:" not in text  # local mode: nothing to link to


def test_exemplars_point_at_the_slow_checkouts(incident: Incident) -> None:
    def slow_exemplar() -> str | None:
        found = incident.backend.exemplars("checkout.request.duration", "region", 600.0).value
        ours = [e for e in found if e.trace_id in incident.slow | incident.fast]
        # Slowest first: the eu-west checkouts (slowed by the fault) before the us-east ones.
        return ours[0].trace_id if ours and ours[0].series.get("region") == "eu-west" else None

    first = poll_until(slow_exemplar, "an exemplar of a slow eu-west checkout", WAIT_S)
    assert first in incident.slow
    text = _metrics(incident.backend, exemplars=True, limit=50)
    assert first in text.split("Exemplars (slowest first)")[1]


def test_traces_by_region_and_minimum_duration_finds_the_slow_checkouts(incident: Incident) -> None:
    out = io.StringIO()
    args = argparse.Namespace(
        service=None, span_name=None, min_duration_s=0.5, attr=[("region", "eu-west")], errors=False, limit=50
    )
    assert run_traces(incident.backend, args, out) == 0
    listed = {
        words[0] for words in map(str.split, out.getvalue().splitlines()) if words and len(words[0]) == 32
    }
    assert incident.slow <= listed, out.getvalue()
    assert not listed & incident.fast
    # us-east: whatever is listed (a busy machine may slow a checkout) is exactly what the
    # filter means, checked span by span.
    args.attr = [("region", "us-east")]
    out = io.StringIO()
    run_traces(incident.backend, args, out)
    for trace in incident.fast:
        matches = any(
            s.attributes.get("region") == "us-east" and s.duration_ms >= 500
            for s in incident.backend.trace(trace).value
        )
        assert (trace in out.getvalue()) == matches, (trace, out.getvalue())


def test_alerts_lists_what_the_local_prometheus_reports(incident: Incident) -> None:
    def latency_alert() -> bool:
        return any(
            a.name == "CheckoutLatencyHigh" and a.labels.get("region") == "eu-west"
            for a in incident.backend.alerts().value
        )

    poll_until(latency_alert, "CheckoutLatencyHigh (pending or firing) for eu-west", WAIT_S)
    out = io.StringIO()
    assert run_alerts(incident.backend, argparse.Namespace(json=False), out) == 0
    text = out.getvalue()
    line = next(x for x in text.splitlines() if "CheckoutLatencyHigh" in x)
    assert line.split()[0] in ("PENDING", "FIRING") and "region=eu-west" in line
    assert "Checkout p95 latency is" in text and "runbook: " in text
    assert "dashboard:" not in text  # Grafana's links mean nothing in local mode
