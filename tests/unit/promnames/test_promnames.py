"""OTel -> Prometheus name translation and the PromQL name extractor (wayfinder.promnames)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wayfinder.promnames import (
    OtelMetric,
    SeriesCatalog,
    base_name,
    captured_format_problems,
    catalog_from_captured,
    check_queries,
    label_name,
    load_captured,
    references,
    series_names,
)

# --- translation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "unit", "kind", "monotonic", "expected"),
    [
        # the vocabulary table of the lead's brief, row by row
        (
            "checkout.request.duration",
            "s",
            "histogram",
            None,
            (
                "checkout_request_duration_seconds_bucket",
                "checkout_request_duration_seconds_sum",
                "checkout_request_duration_seconds_count",
            ),
        ),
        ("payment.provider.retries", "{retry}", "sum", True, ("payment_provider_retries_total",)),
        ("payment.authorizations", "{authorization}", "sum", True, ("payment_authorizations_total",)),
        ("invoice.create.failures", "{failure}", "sum", True, ("invoice_create_failures_total",)),
        ("invoice.jobs.in_flight", "{job}", "sum", False, ("invoice_jobs_in_flight",)),
        ("outbox.pending", "{event}", "gauge", None, ("outbox_pending",)),
        (
            "http.server.request.duration",
            "s",
            "histogram",
            None,
            (
                "http_server_request_duration_seconds_bucket",
                "http_server_request_duration_seconds_sum",
                "http_server_request_duration_seconds_count",
            ),
        ),
    ],
)
def test_vocabulary_metrics_translate_as_the_brief_says(name, unit, kind, monotonic, expected):
    assert series_names(name, unit, kind, monotonic) == expected


@pytest.mark.parametrize(
    ("name", "unit", "kind", "monotonic", "expected"),
    [
        ("queue.size", "By", "gauge", None, "queue_size_bytes"),
        ("request.latency.seconds", "s", "histogram", None, "request_latency_seconds"),
        ("cpu.utilization", "1", "gauge", None, "cpu_utilization_ratio"),
        ("errors.total", "{error}", "sum", True, "errors_total"),
        ("total.errors", "1", "sum", True, "errors_total"),
        ("throughput", "By/s", "gauge", None, "throughput_bytes_per_second"),
        ("requests", "{request}/s", "gauge", None, "requests_per_second"),
        ("weird..name--with spaces", "ms", "histogram", None, "weird_name_with_spaces_milliseconds"),
        ("5xx.count", "", "sum", True, "_5xx_count_total"),
        ("temperature", "Cel", "gauge", None, "temperature_celsius"),
        ("custom", "furlongs", "gauge", None, "custom_furlongs"),
    ],
)
def test_base_name_follows_the_otlp_translation_rules(name, unit, kind, monotonic, expected):
    assert base_name(name, unit, kind, monotonic) == expected


def test_updowncounter_and_counter_differ_only_by_total():
    assert base_name("jobs", "{job}", "sum", False) == "jobs"
    assert base_name("jobs", "{job}", "sum", True) == "jobs_total"


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown metric kind"):
        base_name("x", "s", "summary", None)


@pytest.mark.parametrize(
    ("attribute", "label"),
    [
        ("http.route", "http_route"),
        ("region", "region"),
        ("http.response.status_code", "http_response_status_code"),
        ("deployment.environment.name", "deployment_environment_name"),
        # otlptranslator LabelNamer: a leading digit gets "key_", a single leading "_" gets "key"
        ("2fa.method", "key_2fa_method"),
        ("_private", "key_private"),
        ("__reserved__", "__reserved__"),
    ],
)
def test_label_names(attribute, label):
    assert label_name(attribute) == label


# --- the captured file -------------------------------------------------------------------------


def _entry(**overrides):
    entry = {
        "name": "checkout.request.duration",
        "kind": "histogram",
        "unit": "s",
        "monotonic": None,
        "attributes": ["http.route", "region"],
        "services": ["checkout-api"],
    }
    entry.update(overrides)
    return entry


def test_well_formed_capture_has_no_problems():
    assert captured_format_problems({"metrics": [_entry()]}) == []


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"metric": []}, 'exactly the key "metrics"'),
        ({"metrics": [_entry(kind="summary")]}, "kind must be one of"),
        ({"metrics": [_entry(kind="sum", monotonic=None)]}, "needs monotonic"),
        ({"metrics": [_entry(monotonic=True)]}, "monotonic must be null"),
        ({"metrics": [_entry(attributes=["region", "http.route"])]}, "attributes must be sorted"),
        ({"metrics": [_entry(services="checkout-api")]}, "services must be a list"),
        ({"metrics": [_entry(), _entry()]}, "appears twice"),
        ({"metrics": [{"name": "x"}]}, "exactly the keys"),
    ],
)
def test_malformed_capture_is_reported(document, fragment):
    problems = captured_format_problems(document)
    assert any(fragment in p for p in problems), problems


def test_load_captured_reads_and_rejects(tmp_path: Path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"metrics": [_entry()]}))
    (metric,) = load_captured(good)
    assert metric == OtelMetric(
        "checkout.request.duration", "histogram", "s", None, ("http.route", "region"), ("checkout-api",)
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"metrics": [_entry(kind="nope")]}))
    with pytest.raises(ValueError, match="kind must be one of"):
        load_captured(bad)


def test_catalog_carries_attribute_resource_and_le_labels():
    metric = OtelMetric("checkout.request.duration", "histogram", "s", None, ("http.route", "region"))
    catalog = catalog_from_captured([metric], ["job", "service_name"])
    assert catalog.labels["checkout_request_duration_seconds_bucket"] == frozenset(
        {"http_route", "region", "job", "service_name", "le"}
    )
    assert "le" not in catalog.labels["checkout_request_duration_seconds_count"]  # type: ignore[operator]


# --- PromQL references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "metrics", "labels"),
    [
        ("up", {"up"}, set()),
        ('up{job="otel-collector"} == 0', {"up"}, {"job"}),
        (
            "histogram_quantile(0.95, sum by (le, http_route, region) "
            "(rate(checkout_request_duration_seconds_bucket[5m])))",
            {"checkout_request_duration_seconds_bucket"},
            {"le", "http_route", "region"},
        ),
        (
            'sum without (instance) (rate(payment_provider_retries_total{region=~"eu-.*",'
            ' retry_reason!="timeout"}[$__rate_interval]))',
            {"payment_provider_retries_total"},
            {"instance", "region", "retry_reason"},
        ),
        (
            "sum(rate(a_total[5m])) / on (region) group_left (tier) sum(rate(b_total[5m] offset 1h))",
            {"a_total", "b_total"},
            {"region", "tier"},
        ),
        ("(sum(rate(x_total[5m])) or vector(0)) > bool 0.5", {"x_total"}, set()),
        ("max_over_time(outbox_pending[10m:1m]) > 1e3", {"outbox_pending"}, set()),
        ("sum(rate(x_total[5m] @ end()))", {"x_total"}, set()),
        ('count_values("version", build_info)', {"build_info"}, set()),
        ("topk(5, SUM BY (region) (rate(x_total[5m])))", {"x_total"}, {"region"}),
        ('{__name__="outbox_pending", region="eu-west"}', {"outbox_pending"}, {"region"}),
        # Grafana template variables, as dashboards and the Tempo datasource links write them
        (
            "histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket"
            "{$__tags}[5m])))",
            {"http_server_request_duration_seconds_bucket"},
            {"le"},
        ),
        (
            'sum(rate(checkout_request_duration_seconds_count{$$__tags, region=~"${region:regex}"}'
            "[$__rate_interval]))",
            {"checkout_request_duration_seconds_count"},
            {"region"},
        ),
        ('sum(rate(x_total{region="$region"}[$__interval])) # a comment', {"x_total"}, {"region"}),
        ("label_replace(up, 'dst', '$1', 'src', '(.*)')", {"up"}, set()),
        ("0x1F + .5 + 1h30m", set(), set()),
    ],
)
def test_references(expr, metrics, labels):
    refs = references(expr)
    assert refs.metrics == metrics
    assert refs.labels == labels


def test_name_regex_matcher_is_refused_because_it_cannot_be_checked():
    with pytest.raises(ValueError, match="__name__"):
        references('{__name__=~"otelcol_.*"}')


def test_unreadable_query_is_an_error():
    with pytest.raises(ValueError, match="cannot read PromQL"):
        references("rate(x_total[5m]) ? 2")


# --- the check itself --------------------------------------------------------------------------


def _catalog() -> SeriesCatalog:
    catalog = SeriesCatalog()
    catalog.add("checkout_request_duration_seconds_bucket", {"le", "region", "http_route"})
    catalog.add("otelcol_exporter_queue_size", None)  # labels not known: any label passes
    return catalog


def test_known_names_pass():
    query = (
        "histogram_quantile(0.95, sum by (le, region) (rate(checkout_request_duration_seconds_bucket[5m])))"
    )
    assert check_queries([("panel", query)], _catalog()) == []


def test_typo_in_metric_is_found():
    query = "sum(rate(checkout_request_duraton_seconds_bucket[5m]))"
    (finding,) = check_queries([("panel A", query)], _catalog())
    assert finding.source == "panel A"
    assert "checkout_request_duraton_seconds_bucket" in finding.problem


def test_unknown_metric_is_reported_once_without_label_noise():
    query = "sum by (region) (rate(checkout_request_duraton_seconds_bucket[5m]))"
    findings = check_queries([("p", query)], _catalog())
    assert [f.problem for f in findings] == ["unknown metric 'checkout_request_duraton_seconds_bucket'"]


def test_typo_in_label_is_found_unless_always_present():
    query = "sum by (regoin, job) (rate(checkout_request_duration_seconds_bucket[5m]))"
    findings = check_queries([("p", query)], _catalog(), always_labels={"job"})
    assert [f.problem for f in findings] == ["label 'regoin' is on none of its metrics"]


def test_metrics_with_unknown_labels_accept_any_label():
    assert check_queries([("p", 'otelcol_exporter_queue_size{exporter="x"}')], _catalog()) == []


def test_unparseable_query_is_a_finding_not_a_crash():
    (finding,) = check_queries([("p", "up ? 1")], _catalog())
    assert "cannot read PromQL" in finding.problem
