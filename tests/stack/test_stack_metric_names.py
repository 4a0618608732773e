"""Every metric and label a dashboard panel, alert rule or datasource link queries exists.

Known series = telemetry/captured/metrics.json (what the services really export, written by the
end-to-end test) translated the way Prometheus's OTLP endpoint names them, plus the short
EXTERNAL_SERIES list in stack_sources.py (Tempo's metrics-generator, the collector, Prometheus).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from stack_sources import (
    CAPTURED,
    DASHBOARDS,
    OTLP_RESOURCE_LABELS,
    dashboard_queries,
    dashboards,
    datasource_link_queries,
    rule_queries,
    series_catalog,
)
from wayfinder.promnames import (
    captured_format_problems,
    check_queries,
    load_captured,
    references,
    series_names,
)

from tests.support import SHOP_METRICS

ALWAYS_LABELS = ("job", "instance")


def all_queries(folder: Path = DASHBOARDS) -> list[tuple[str, str]]:
    return dashboard_queries(dashboards(folder)) + rule_queries() + datasource_link_queries()


def test_captured_metrics_file_is_well_formed():
    assert captured_format_problems(json.loads(CAPTURED.read_text())) == []


def test_the_check_has_something_to_check():
    queries = all_queries()
    sources = {where.split(":")[0] for where, _ in queries}
    assert len(queries) >= 40
    assert {
        "home.json",
        "checkout.json",
        "payment-provider.json",
        "invoice-pipeline.json",
        "telemetry-pipeline.json",
        "datasources.yaml",
    } <= sources
    assert any("alert" in where for where, _ in queries)


def test_every_queried_metric_and_label_exists():
    findings = check_queries(all_queries(), series_catalog(), ALWAYS_LABELS)
    assert findings == [], "\n".join(f"{f.source}: {f.problem}\n    {f.expr}" for f in findings)


# The domain metrics of the vocabulary (plus the HTTP server histogram every hop shares): each must
# be exported AND shown somewhere. Other auto-instrumented metrics may stay in Explore.
STORY_METRICS = (*SHOP_METRICS, "http.server.request.duration")


@pytest.mark.parametrize("name", STORY_METRICS)
def test_every_domain_metric_is_exported_and_on_a_dashboard(name: str):
    captured = {metric.name: metric for metric in load_captured(CAPTURED)}
    assert name in captured, f"{name} is not in {CAPTURED.name}: the services do not export it"
    metric = captured[name]
    used: set[str] = set()
    for _, expr in dashboard_queries(dashboards()):
        used |= references(expr).metrics
    assert set(series_names(metric.name, metric.unit, metric.kind, metric.monotonic)) & used, (
        f"{name} is exported but no dashboard panel queries it"
    )


@pytest.fixture
def dashboards_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "dashboards"
    shutil.copytree(DASHBOARDS, copy)
    return copy


def _plant(folder: Path, old: str, new: str) -> None:
    path = folder / "checkout.json"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_metric_typo_in_a_panel_fails_the_check(dashboards_copy: Path):
    _plant(
        dashboards_copy, "checkout_request_duration_seconds_bucket", "checkout_request_duraton_seconds_bucket"
    )
    findings = check_queries(all_queries(dashboards_copy), series_catalog(), ALWAYS_LABELS)
    assert [f.problem for f in findings] == ["unknown metric 'checkout_request_duraton_seconds_bucket'"]
    assert findings[0].source.startswith("checkout.json: panel")


def test_a_label_typo_in_a_panel_fails_the_check(dashboards_copy: Path):
    _plant(dashboards_copy, "sum by (checkout_outcome)", "sum by (checkout_outcmoe)")
    findings = check_queries(all_queries(dashboards_copy), series_catalog(), ALWAYS_LABELS)
    assert [f.problem for f in findings] == ["label 'checkout_outcmoe' is on none of its metrics"]


def test_a_metric_the_services_stop_exporting_fails_the_check(tmp_path: Path):
    document = json.loads(CAPTURED.read_text())
    document["metrics"] = [m for m in document["metrics"] if m["name"] != "payment.provider.retries"]
    captured = tmp_path / "metrics.json"
    captured.write_text(json.dumps(document))
    findings = check_queries(all_queries(), series_catalog(captured), ALWAYS_LABELS)
    assert findings and all("payment_provider_retries_total" in f.problem for f in findings)


def test_resource_labels_match_what_prometheus_promotes():
    from stack_sources import ROOT, load_yaml
    from wayfinder.promnames import label_name

    promoted = load_yaml(ROOT / "prometheus" / "prometheus.yml")["otlp"]["promote_resource_attributes"]
    assert set(OTLP_RESOURCE_LABELS) == {label_name(a) for a in promoted} | {"job", "instance"}


def test_collector_self_metrics_come_from_the_pinned_list_without_total():
    """otelcol-contrib 0.159's pull reader exposes counters under their instrument names: a query
    for the `_total` name a 2.x-era collector used finds nothing, and the check says so."""
    from stack_sources import collector_self_metrics

    listed = collector_self_metrics()
    assert listed["otelcol_receiver_refused_spans"] == "counter"
    assert listed["otelcol_exporter_queue_size"] == "gauge"
    assert not any(name.endswith("_total") for name in listed)
    catalog = series_catalog()
    for query in (
        "rate(otelcol_receiver_refused_spans_total[5m])",
        "rate(otelcol_exporter_send_failed_spans_total[5m])",
        "rate(otelcol_processor_incoming_items_total[5m])",
    ):
        findings = check_queries([("planted", query)], catalog, ALWAYS_LABELS)
        assert [f.problem for f in findings] == [f"unknown metric '{query[5:-5]}'"]


def test_every_collector_metric_queried_is_in_the_pinned_list():
    from stack_sources import collector_self_metrics, collector_series

    known = set(collector_series(collector_self_metrics()))
    queried = set()
    for _, expr in all_queries():
        queried |= {m for m in references(expr).metrics if m.startswith("otelcol_")}
    assert queried, "no alert or panel reads the collector's own metrics"
    assert queried <= known, queried - known
