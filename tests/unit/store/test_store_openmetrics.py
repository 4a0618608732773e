"""The OpenMetrics encoder (wayfinder.store.openmetrics) and the latest-point tracker behind /metrics."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from wayfinder.store import Exemplar, MetricPoint, OTLPReceiver, TelemetryStore
from wayfinder.store.exposition import Exposition
from wayfinder.store.openmetrics import (
    CONTENT_TYPE,
    PROMOTED_RESOURCE_ATTRIBUTES,
    attribute_text,
    go_fixed,
    render,
    series_labels,
    target_info_labels,
)

ROOT = Path(__file__).resolve().parents[3]
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
RESOURCE: dict[str, Any] = {
    "service.name": "checkout-api",
    "service.namespace": "wayfinder",
    "service.version": "1.4.0",
    "service.instance.id": "i-1",
    "deployment.environment.name": "local",
}
BASE = 'deployment_environment_name="local",instance="i-1",job="wayfinder/checkout-api"'
PROMOTED = 'service_name="checkout-api",service_version="1.4.0"'


def point(**overrides: Any) -> MetricPoint:
    fields: dict[str, Any] = {
        "name": "payment.authorizations",
        "kind": "sum",
        "unit": "{authorization}",
        "description": "",
        "monotonic": True,
        "service_name": "checkout-api",
        "attributes": {},
        "resource": RESOURCE,
        "scope_name": "test",
        "time_unix_nano": 1_700_000_000_000_000_000,
        "value": 3.0,
    }
    return MetricPoint(**(fields | overrides))


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.005, "0.005"), (1.0, "1"), (0.0, "0"), (1e-05, "0.00001"), (10000.0, "10000"), (2.5, "2.5")]
    + [(1e21, "1000000000000000000000"), (float("inf"), "+Inf")],
)
def test_le_is_written_like_go_formatfloat_f_minus_one(value: float, text: str) -> None:
    assert go_fixed(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (502, "502"), (1.5, "1.5"), (3.0, "3"), ("eu-west", "eu-west")]
    + [(1e-7, "1e-7"), (1e21, "1e+21"), (["a", "b"], '["a","b"]')],
)
def test_attribute_values_are_rendered_like_pcommon_as_string(value: Any, text: str) -> None:
    assert attribute_text(value) == text


def test_promoted_resource_attributes_are_prometheus_yml_s() -> None:
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    assert list(PROMOTED_RESOURCE_ATTRIBUTES) == config["otlp"]["promote_resource_attributes"]


def test_labels_attributes_promoted_resource_job_and_instance() -> None:
    labels = series_labels({"http.route": "/checkout", "region": "eu-west"}, RESOURCE | {"host.name": "h"})
    assert labels == {
        "http_route": "/checkout",
        "region": "eu-west",
        "service_name": "checkout-api",
        "service_version": "1.4.0",
        "deployment_environment_name": "local",
        "job": "wayfinder/checkout-api",
        "instance": "i-1",
    }


def test_colliding_keys_join_in_key_order_and_an_attribute_beats_a_promoted_one() -> None:
    labels = series_labels({"a_b": "second", "a.b": "first", "service.name": "mine", "job": "x"}, RESOURCE)
    assert labels["a_b"] == "first;second"
    assert labels["service_name"] == "mine"
    assert labels["job"] == "wayfinder/checkout-api"  # job and instance always win


def test_job_without_namespace_no_instance_and_empty_values_dropped() -> None:
    labels = series_labels({"empty": ""}, {"service.name": "payment"})
    assert labels == {"service_name": "payment", "job": "payment"}


def test_target_info_holds_the_non_identifying_resource_attributes() -> None:
    assert target_info_labels(RESOURCE | {"telemetry.sdk.language": "python"}) == {
        "service_version": "1.4.0",
        "deployment_environment_name": "local",
        "telemetry_sdk_language": "python",
        "job": "wayfinder/checkout-api",
        "instance": "i-1",
    }
    only_identity = {k: RESOURCE[k] for k in ("service.name", "service.namespace", "service.instance.id")}
    assert target_info_labels(only_identity) is None


def test_histogram_buckets_are_cumulative_with_the_exemplar_on_its_bucket() -> None:
    histogram = point(
        name="checkout.request.duration",
        kind="histogram",
        unit="s",
        monotonic=None,
        attributes={"region": "eu-west"},
        value=None,
        count=6,
        sum=4.2,
        bucket_bounds=(0.5, 1.0, 2.5),
        bucket_counts=(3, 1, 2, 0),
        exemplars=(
            Exemplar(1_700_000_000_250_000_000, 1.8, TRACE, SPAN),
            Exemplar(1_600_000_000_000_000_000, 2.0, "0" * 31 + "1", SPAN),  # older: not shown
        ),
        description='Checkout "latency"\nper request',
    )
    labels = f'{BASE},region="eu-west",{PROMOTED}'
    name = "checkout_request_duration_seconds"
    lines = render([histogram]).splitlines()
    assert lines[:8] == [
        f'# HELP {name} Checkout "latency"\\nper request',
        f"# TYPE {name} histogram",
        f'{name}_bucket{{{BASE},le="0.5",region="eu-west",{PROMOTED}}} 3',
        f'{name}_bucket{{{BASE},le="1",region="eu-west",{PROMOTED}}} 4',
        f'{name}_bucket{{{BASE},le="2.5",region="eu-west",{PROMOTED}}} 6 '
        f'# {{span_id="{SPAN}",trace_id="{TRACE}"}} 1.8 1700000000.250000000',
        f'{name}_bucket{{{BASE},le="+Inf",region="eu-west",{PROMOTED}}} 6',
        f"{name}_count{{{labels}}} 6",
        f"{name}_sum{{{labels}}} 4.2",
    ]
    assert lines[-1] == "# EOF"


def test_counter_family_drops_total_and_carries_its_exemplar() -> None:
    counter = point(exemplars=(Exemplar(1_700_000_000_000_000_000, 1.0, TRACE, SPAN),))
    text = render([counter])
    assert "# TYPE payment_authorizations counter\n" in text
    assert (
        f"payment_authorizations_total{{{BASE},{PROMOTED}}} 3 "
        f'# {{span_id="{SPAN}",trace_id="{TRACE}"}} 1 1700000000.000000000\n'
    ) in text


def test_updown_counters_and_gauges_are_gauges_without_exemplars() -> None:
    exemplar = (Exemplar(1, 1.0, TRACE, SPAN),)
    updown = point(
        name="invoice.jobs.in_flight", unit="{job}", monotonic=False, value=2.0, exemplars=exemplar
    )
    ratio = point(name="cache.hit", kind="gauge", unit="1", monotonic=None, value=0.25)
    text = render([updown, ratio])
    assert "# TYPE invoice_jobs_in_flight gauge\n" in text
    assert f"invoice_jobs_in_flight{{{BASE},{PROMOTED}}} 2\n" in text
    assert f"cache_hit_ratio{{{BASE},{PROMOTED}}} 0.25\n" in text
    assert "#" not in text.split("invoice_jobs_in_flight{", 1)[1].split("\n", 1)[0]


def test_label_values_are_escaped_and_unsupported_kinds_skipped() -> None:
    tricky = point(attributes={"note": 'say "hi"\\\n'})
    summary = point(name="old.summary", kind="summary", unit="s", monotonic=None, value=None)
    text = render([tricky, summary])
    assert 'note="say \\"hi\\"\\\\\\n"' in text
    assert "old_summary" not in text


def test_target_info_once_per_resource() -> None:
    text = render([point(), point(name="payment.provider.retries", unit="{retry}")])
    assert text.count("target_info{") == 1
    assert "# TYPE target info\n" in text


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_exposition_keeps_the_newest_point_per_series_and_forgets_stale_ones() -> None:
    start = 1_700_000_000.0
    clock = Clock(start)
    with TelemetryStore(":memory:") as store:
        old = point(time_unix_nano=int((start - 900) * 1e9), value=99.0)  # from an earlier run
        store.add_metric_points([replace(old, attributes={"region": "gone"})])
        exposition = Exposition(store, stale_after_s=300, clock=clock)
        store.add_metric_points([point(time_unix_nano=int(start * 1e9), value=1.0)])
        assert 'region="gone"' not in exposition.render()
        # A restarted process (same labels, counter reset) replaces the old value.
        store.add_metric_points([point(time_unix_nano=int((start + 5) * 1e9), value=5.0)])
        store.add_metric_points([point(time_unix_nano=int((start + 10) * 1e9), value=0.0)])
        assert f"payment_authorizations_total{{{BASE},{PROMOTED}}} 0\n" in exposition.render()
        clock.now = start + 311
        assert exposition.render() == "# EOF\n"


def test_receiver_serves_the_exposition_on_get_metrics(receiver: OTLPReceiver, store: TelemetryStore) -> None:
    store.add_metric_points([point(time_unix_nano=time.time_ns())])
    response = httpx.get(f"{receiver.endpoint}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.text.startswith("# TYPE payment_authorizations counter\npayment_authorizations_total{")
