"""Local mode's Prometheus, for real: the Debian prometheus 2.42 binary scraping the telemetry store.

One store (fed real OTLP over HTTP by the OTel SDK, or by requests encoded from the captured
metric list) and one Prometheus started by local mode's own code (wayfinder.local.prometheus)
with the repository's rule files. Each test uses its own deployment.environment.name, so
their series never mix.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from wayfinder.local.config import LocalConfig
from wayfinder.local.prerequisites import MissingPrerequisite, prometheus_server
from wayfinder.local.processes import ProcessTable
from wayfinder.local.prometheus import LocalPrometheus
from wayfinder.promnames import label_name, load_captured, series_names
from wayfinder.store import MetricPoint, OTLPReceiver, TelemetryStore
from wayfinder.store.encode import metrics_request
from wayfinder.store.openmetrics import PROMOTED_RESOURCE_ATTRIBUTES

from tests.support import free_port, missing_tool, poll_until

ROOT = Path(__file__).resolve().parents[2]
CAPTURED = ROOT / "telemetry" / "captured" / "metrics.json"
SDK_DEFAULT_BOUNDS = (0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0)
WAIT_S = 90  # a scrape and an evaluation every 5 s, on a machine shared by many test runs


@dataclass
class Running:
    store: TelemetryStore
    receiver: OTLPReceiver
    prometheus: LocalPrometheus

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.prometheus.url}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    try:
        prometheus_server()
    except MissingPrerequisite as exc:
        missing_tool(str(exc))
    home = tmp_path_factory.mktemp("local-prometheus")
    store = TelemetryStore(home / "telemetry.db")
    with OTLPReceiver(store, port=0) as receiver:
        config = LocalConfig.model_validate(
            {"home": home, "store_port": receiver.port, "prometheus_port": free_port()}
        )
        prometheus = LocalPrometheus(
            config, ProcessTable(config.run_dir, config.log_dir), ROOT / "prometheus" / "rules"
        )
        prometheus.start()
        try:
            yield Running(store, receiver, prometheus)
        finally:
            prometheus.stop()
    store.close()


def shop_resource(service: str, environment: str, instance: str | None = None) -> dict[str, Any]:
    """The resource wayfinder_common.settings gives every service (plus the SDK's attributes)."""
    resource: dict[str, Any] = {
        "service.name": service,
        "service.namespace": "wayfinder",
        "service.version": "0.1.0",
        "deployment.environment.name": environment,
        "telemetry.sdk.language": "python",
    }
    if instance is not None:
        resource["service.instance.id"] = instance
    return resource


# --- the rules of prometheus/rules evaluate over what the SDK exported ---------------------------


def test_alert_rules_evaluate_over_metrics_the_sdk_exported(running: Running) -> None:
    environment = f"rules-{uuid.uuid4().hex[:8]}"
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{running.receiver.endpoint}/v1/metrics"), export_interval_millis=600_000
    )
    resource = Resource.create(shop_resource("checkout-api", environment))
    meters = MeterProvider(
        metric_readers=[reader],
        resource=resource,
        exemplar_filter=TraceBasedExemplarFilter(),
        shutdown_on_exit=False,
    )
    tracer = TracerProvider(resource=resource, shutdown_on_exit=False).get_tracer("test")
    meter = meters.get_meter("checkout_api")
    duration = meter.create_histogram(
        "checkout.request.duration", unit="s", explicit_bucket_boundaries_advisory=[0.25, 0.5, 1, 2.5, 5]
    )
    authorizations = meter.create_counter("payment.authorizations", unit="{authorization}")
    retries = meter.create_counter("payment.provider.retries", unit="{retry}")

    def pending_events(options: CallbackOptions) -> list[Observation]:
        return [Observation(150)]

    meter.create_observable_gauge("outbox.pending", [pending_events], unit="{event}")
    trace_ids: set[str] = set()

    def slow_eu_west_checkouts() -> None:
        # Every poll adds load, so rate() over the scrapes keeps seeing new slow requests.
        with tracer.start_as_current_span("POST /checkout") as span:
            trace_ids.add(format(span.get_span_context().trace_id, "032x"))
            route = {"http.route": "/checkout", "region": "eu-west", "checkout.outcome": "created"}
            duration.record(1.8, route)
            authorizations.add(1, {"region": "eu-west", "payment.outcome": "authorized"})
            retries.add(2, {"region": "eu-west", "retry.reason": "rate_limited"})
        assert meters.force_flush(10_000)

    def alert_states() -> dict[str, list[dict[str, Any]]]:
        slow_eu_west_checkouts()
        groups = running.api("rules", type="alert")["groups"]
        return {
            rule["name"]: [
                {"state": alert["state"], **alert["labels"]}
                for alert in rule.get("alerts", [])
                if alert["labels"].get("region", "eu-west") == "eu-west"
            ]
            for group in groups
            for rule in group["rules"]
            if rule.get("alerts")
        }

    wanted = {"CheckoutLatencyHigh", "PaymentRetryAmplification", "OutboxBacklogHigh"}
    states = poll_until(
        lambda: (s := alert_states()) and wanted <= set(s) and s,
        f"{sorted(wanted)} pending or firing in the local Prometheus",
        WAIT_S,
    )
    meters.shutdown()
    latency = states["CheckoutLatencyHigh"][0]
    # `for: 2m`: pending first; the labels are those of the rule's `by (le, http_route, region)`.
    assert latency["state"] in ("pending", "firing")
    assert (latency["http_route"], latency["region"], latency["severity"]) == ("/checkout", "eu-west", "page")
    assert states["PaymentRetryAmplification"][0]["region"] == "eu-west"
    assert states["OutboxBacklogHigh"][0]["alertname"] == "OutboxBacklogHigh"

    # The series carry the compose stack's labels: promoted resource attributes, job, instance.
    instance = str(resource.attributes["service.instance.id"])
    selector = f'checkout_request_duration_seconds_count{{deployment_environment_name="{environment}"}}'
    (series,) = running.api("query", query=selector)["result"]
    assert series["metric"] == {
        "__name__": "checkout_request_duration_seconds_count",
        "checkout_outcome": "created",
        "deployment_environment_name": environment,
        "http_route": "/checkout",
        "instance": instance,
        "job": "wayfinder/checkout-api",
        "region": "eu-west",
        "service_name": "checkout-api",
        "service_version": "0.1.0",
    }
    # Exemplars arrive through OpenMetrics: a slow bucket links to one of the test's traces.
    bucket = f'checkout_request_duration_seconds_bucket{{deployment_environment_name="{environment}"}}'
    now = time.time()
    exemplars = running.api("query_exemplars", query=bucket, start=now - 600, end=now + 60)
    linked = {e["labels"]["trace_id"] for group in exemplars for e in group["exemplars"]}
    assert linked and linked <= trace_ids


# --- parity: the store's exposition, scraped, gives the names promnames predicts ----------------


def captured_points(environment: str, instances: dict[str, str]) -> list[MetricPoint]:
    """One point per metric and service of telemetry/captured/metrics.json, every attribute set."""
    points = []
    now = time.time_ns()
    for metric in load_captured(CAPTURED):
        for service in metric.services:
            values: dict[str, Any] = {"value": 3.0}
            if metric.kind == "histogram":
                counts = tuple(1 for _ in range(len(SDK_DEFAULT_BOUNDS) + 1))
                values = {"value": None, "count": sum(counts), "sum": 42.5}
                values |= {"bucket_bounds": SDK_DEFAULT_BOUNDS, "bucket_counts": counts}
            points.append(
                MetricPoint(
                    name=metric.name,
                    kind=metric.kind,
                    unit=metric.unit,
                    description="",
                    monotonic=metric.monotonic,
                    service_name=service,
                    attributes={attribute: f"v-{attribute}" for attribute in metric.attributes},
                    resource=shop_resource(service, environment, instances[service]),
                    scope_name="parity",
                    time_unix_nano=now,
                    **values,
                )
            )
    return points


def post_metrics(receiver: OTLPReceiver, points: list[MetricPoint]) -> None:
    body = metrics_request(points).SerializeToString()
    response = httpx.post(
        f"{receiver.endpoint}/v1/metrics", content=body, headers={"Content-Type": "application/x-protobuf"}
    )
    response.raise_for_status()


def test_parity_scraped_series_are_exactly_what_promnames_predicts(running: Running) -> None:
    environment = f"parity-{uuid.uuid4().hex[:8]}"
    metrics = load_captured(CAPTURED)
    services = sorted({service for metric in metrics for service in metric.services})
    instances = {service: str(uuid.uuid4()) for service in services}
    post_metrics(running.receiver, captured_points(environment, instances))

    resource_labels = {label_name(a) for a in PROMOTED_RESOURCE_ATTRIBUTES} | {"job", "instance"}
    expected: set[tuple[str, str, frozenset[str]]] = set()
    for metric in metrics:
        labels = resource_labels | {label_name(a) for a in metric.attributes}
        for service in metric.services:
            for name in series_names(metric.name, metric.unit, metric.kind, metric.monotonic):
                with_le = labels | {"le"} if name.endswith("_bucket") else labels
                expected.add((name, f"wayfinder/{service}", frozenset(with_le)))

    def scraped() -> list[dict[str, str]]:
        match = f'{{deployment_environment_name="{environment}"}}'
        return running.api("series", **{"match[]": match})  # type: ignore[no-any-return]

    def complete() -> list[dict[str, str]] | None:
        found = scraped()
        names = {s["__name__"] for s in found}
        return found if {e[0] for e in expected} | {"target_info"} <= names else None

    series = poll_until(complete, "every captured metric's series in the local Prometheus", WAIT_S)
    got = {
        (s["__name__"], s["job"], frozenset(set(s) - {"__name__"}))
        for s in series
        if s["__name__"] != "target_info"
    }
    assert got == expected
    # Every label value as the compose stack's Prometheus writes it.
    for s in series:
        service = s["job"].removeprefix("wayfinder/")
        assert s["instance"] == instances[service]
        assert s["__name__"] == "target_info" or s["service_name"] == service
    le_values = {s["le"] for s in series if "le" in s}
    assert le_values == {
        "0",
        "5",
        "10",
        "25",
        "50",
        "75",
        "100",
        "250",
        "500",
        "750",
        "1000",
        "2500",
        "5000",
        "+Inf",
    }
    target_info = {s["job"]: s for s in series if s["__name__"] == "target_info"}
    assert set(target_info) == {f"wayfinder/{service}" for service in services}
    assert target_info["wayfinder/payment"] == {
        "__name__": "target_info",
        "deployment_environment_name": environment,
        "instance": instances["payment"],
        "job": "wayfinder/payment",
        "service_version": "0.1.0",
        "telemetry_sdk_language": "python",
    }


def test_a_resource_without_instance_id_gets_no_instance_label(running: Running) -> None:
    """OTLP ingestion sets `instance` only from service.instance.id; a scrape must not add the store's."""
    environment = f"no-instance-{uuid.uuid4().hex[:8]}"
    point = MetricPoint(
        name="outbox.pending",
        kind="gauge",
        unit="{event}",
        description="",
        monotonic=None,
        service_name="outbox-relay",
        attributes={"queue.name": "invoice-events"},
        resource=shop_resource("outbox-relay", environment),
        scope_name="test",
        time_unix_nano=time.time_ns(),
        value=7.0,
    )
    post_metrics(running.receiver, [point])
    selector = f'outbox_pending{{deployment_environment_name="{environment}"}}'
    result = poll_until(
        lambda: running.api("query", query=selector)["result"], "outbox_pending without an instance", WAIT_S
    )
    assert [r["metric"] for r in result] == [
        {
            "__name__": "outbox_pending",
            "deployment_environment_name": environment,
            "job": "wayfinder/outbox-relay",
            "queue_name": "invoice-events",
            "service_name": "outbox-relay",
            "service_version": "0.1.0",
        }
    ]
    assert result[0]["value"][1] == "7"


def test_a_second_up_reloads_the_running_prometheus_instead_of_starting_another(running: Running) -> None:
    before = running.prometheus.processes.pid("prometheus")
    loaded = running.api("status/runtimeinfo")["lastConfigTime"]
    running.prometheus.start()
    assert running.prometheus.processes.pid("prometheus") == before
    info = poll_until(
        lambda: (i := running.api("status/runtimeinfo"))["lastConfigTime"] != loaded and i,
        "Prometheus to reload its config after SIGHUP",
        WAIT_S,
    )
    assert info["reloadConfigSuccess"] is True
