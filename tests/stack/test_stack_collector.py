"""collector/*.yaml: the base config merged with each trace profile (keep-every-trace by default,
tail-sampling opt-in) is wired from defined components with 0.159 names, memory_limiter first,
personal data redacted before any exporter; by default no trace is ever dropped."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from stack_sources import ROOT, compose, load_yaml

CONFIG = ROOT / "collector" / "config.yaml"
PROFILES = {
    "keep-every-trace": ROOT / "collector" / "keep-every-trace.yaml",
    "tail-sampling": ROOT / "collector" / "tail-sampling.yaml",
}
DEFAULT_PROFILE = "keep-every-trace"
KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")

# Component types this config may use, as otelcol-contrib 0.159 names them, and the old names
# that 0.159 only keeps as deprecated aliases (or dropped).
VALID_0_159 = {
    "receivers": {"otlp"},
    "processors": {
        "memory_limiter",
        "resource",
        "redaction",
        "transform",
        "tail_sampling",
        "batch",
        "attributes",
        "filter",
    },
    "exporters": {"otlp_grpc", "otlp_http", "debug"},
    "extensions": {"health_check"},
    "connectors": {"span_metrics", "forward"},
}
DEPRECATED = {
    "otlphttp",
    "spanmetrics",
    "resourcedetection",
    "hostmetrics",
    "logging",
    "loki",
    "prometheusremotewrite",
}


def merged(base: Any, overlay: Any) -> Any:
    """Two configs layered the way the collector layers --config files: maps merge key by key,
    anything else (lists included) is replaced by the later file's value."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        result = dict(base)
        for key, value in overlay.items():
            result[key] = merged(base[key], value) if key in base else value
        return result
    return overlay


def collector(profile: str = DEFAULT_PROFILE) -> dict[str, Any]:
    """What the collector runs with: config.yaml, then the profile file compose layers over it."""
    return merged(load_yaml(CONFIG), load_yaml(PROFILES[profile]))


def wiring_problems(config: dict[str, Any]) -> list[str]:
    problems = []
    defined = {kind: set(config.get(kind) or {}) for kind in KINDS}
    used: dict[str, set[str]] = {kind: set() for kind in KINDS}
    service = config["service"]
    used["extensions"] = set(service.get("extensions", []))
    for name, pipeline in service["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                pool = "connectors" if component in defined["connectors"] and kind != "processors" else kind
                used[pool].add(component)
                if component not in defined[pool]:
                    problems.append(f"pipeline {name} names undefined {kind[:-1]} {component!r}")
        processors = pipeline.get("processors", [])
        if not processors or processors[0] != "memory_limiter":
            problems.append(f"pipeline {name}: memory_limiter must come first")
        # Data from a connector left a pipeline that redacted it already; data from a receiver
        # comes straight from the services.
        from_receiver = any(r not in defined["connectors"] for r in pipeline.get("receivers", []))
        if from_receiver and "redaction" not in processors:
            problems.append(f"pipeline {name}: no redaction before its exporters")
    for kind in KINDS:
        for component in defined[kind] - used[kind]:
            problems.append(f"{kind[:-1]} {component!r} is defined but used by no pipeline")
        for component in defined[kind]:
            component_type = component.split("/")[0]
            if component_type in DEPRECATED or component_type not in VALID_0_159[kind]:
                problems.append(f"{kind[:-1]} type {component_type!r} is not a 0.159 name")
    return problems


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_pipelines_name_defined_components_and_every_component_is_used(profile: str):
    assert wiring_problems(collector(profile)) == []


def test_compose_layers_the_base_config_and_a_profile_defaulting_to_keep_every_trace():
    service = compose()["services"]["otel-collector"]
    assert service["command"] == [
        "--config=/etc/otelcol-contrib/config.yaml",
        "--config=/etc/otelcol-contrib/${TRACE_SAMPLING:-keep-every-trace}.yaml",
    ]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in service["volumes"])
    for name, path in {"config": CONFIG, **PROFILES}.items():
        assert mounts[f"./collector/{path.name}"] == f"/etc/otelcol-contrib/{path.name}", name
    documented = (ROOT / ".env.example").read_text()
    assert "TRACE_SAMPLING=keep-every-trace" in documented
    assert "tail-sampling" in documented


def test_the_base_config_leaves_the_trace_path_to_the_profiles():
    assert "traces" not in load_yaml(CONFIG)["service"]["pipelines"]
    for path in PROFILES.values():
        assert "traces" in load_yaml(path)["service"]["pipelines"], path.name


def _trace_paths(config: dict[str, Any]) -> list[list[str]]:
    """Every processor chain a span from the otlp receiver can take to the Tempo exporter."""
    pipelines = config["service"]["pipelines"]
    connectors = set(config.get("connectors") or {})
    paths: list[list[str]] = []

    def follow(name: str, before: list[str]) -> None:
        pipeline = pipelines[name]
        chain = before + pipeline.get("processors", [])
        for exporter in pipeline["exporters"]:
            if exporter.startswith("otlp_grpc/tempo"):
                paths.append(chain)
            elif exporter in connectors:
                for other, downstream in pipelines.items():
                    if other.startswith("traces") and exporter in downstream["receivers"]:
                        follow(other, chain)

    for name, pipeline in pipelines.items():
        if name.startswith("traces") and "otlp" in pipeline["receivers"]:
            follow(name, [])
    return paths


def test_by_default_no_trace_is_dropped():
    """Every exemplar and log line carries a trace id: no link Grafana offers may point at a trace
    the stack dropped, so the default path to Tempo has no sampling processor at all."""
    config = collector(DEFAULT_PROFILE)
    paths = _trace_paths(config)
    assert paths, "no path from the otlp receiver to Tempo"
    for chain in paths:
        types = {processor.split("/")[0] for processor in chain}
        assert not types & {"tail_sampling", "probabilistic_sampler", "filter"}, chain
    assert not any(p.split("/")[0] == "tail_sampling" for p in config.get("processors", {}))


def test_the_default_check_catches_a_sampler_on_the_path():
    config = copy.deepcopy(collector("tail-sampling"))
    paths = _trace_paths(config)
    assert paths and all("tail_sampling" in chain for chain in paths)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            lambda c: c["service"]["pipelines"]["traces"]["exporters"].append("otlp_http/jaeger"),
            "undefined exporter",
        ),
        (lambda c: c["processors"].update({"batch": {}}), "used by no pipeline"),
        (
            lambda c: c["service"]["pipelines"]["logs"]["processors"].reverse(),
            "memory_limiter must come first",
        ),
        (lambda c: c["service"]["pipelines"]["metrics"]["processors"].remove("redaction"), "no redaction"),
        (lambda c: c["exporters"].update({"otlphttp/x": {}}), "not a 0.159 name"),
    ],
)
def test_a_miswired_collector_config_is_caught(change, fragment):
    config = copy.deepcopy(collector())
    change(config)
    assert any(fragment in p for p in wiring_problems(config)), wiring_problems(config)


def test_signals_go_to_the_right_backends():
    config = collector()
    pipelines = config["service"]["pipelines"]
    exporters = config["exporters"]
    (traces,) = pipelines["traces"]["exporters"]
    (metrics,) = pipelines["metrics"]["exporters"]
    (logs,) = pipelines["logs"]["exporters"]
    tempo_grpc = load_yaml(ROOT / "tempo" / "tempo.yaml")["distributor"]["receivers"]["otlp"]["protocols"][
        "grpc"
    ]
    assert exporters[traces]["endpoint"] == "tempo:" + tempo_grpc["endpoint"].rsplit(":", 1)[1]
    assert exporters[metrics]["endpoint"] == "http://prometheus:9090/api/v1/otlp"
    assert exporters[logs]["endpoint"] == "http://loki:3100/otlp"
    for name in (traces, metrics, logs):
        assert "batch" in exporters[name]["sending_queue"], f"{name}: no batching"


def test_tail_sampling_profile_keeps_errors_retries_and_a_share_of_the_rest():
    config = collector("tail-sampling")
    (chain,) = _trace_paths(config)
    assert chain[-1] == "tail_sampling"
    assert chain.index("redaction") < chain.index("tail_sampling")
    policies = {p["type"]: p for p in config["processors"]["tail_sampling"]["policies"]}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    assert policies["numeric_attribute"]["numeric_attribute"]["key"] == "retry.attempt"
    assert 0 < policies["probabilistic"]["probabilistic"]["sampling_percentage"] < 100
    # A trace-level latency policy would measure the checkout AND its async invoice job.
    assert "latency" not in policies
    for name, pipeline in config["service"]["pipelines"].items():
        assert name.startswith("traces") or "tail_sampling" not in pipeline.get("processors", [])


def test_tail_sampling_profile_computes_span_metrics_before_sampling():
    config = collector("tail-sampling")
    pipelines = config["service"]["pipelines"]
    entry = pipelines["traces"]
    assert "otlp" in entry["receivers"] and "tail_sampling" not in entry["processors"]
    assert "span_metrics" in entry["exporters"]  # every span, before the sampling pipeline
    (metrics_pipeline,) = [p for p in pipelines.values() if "span_metrics" in p["receivers"]]
    assert metrics_pipeline["exporters"] == pipelines["metrics"]["exporters"]
    connector = config["connectors"]["span_metrics"]
    assert connector["namespace"] == "traces.span.metrics"
    assert connector["histogram"]["unit"] == "s"


def test_receivers_listen_where_the_services_send():
    protocols = collector()["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    endpoint = compose()["services"]["checkout-api"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint.endswith(":4318")


def test_health_check_is_what_the_compose_healthcheck_probes():
    port = collector()["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1]
    assert f":{port}/" in " ".join(compose()["services"]["otel-collector"]["healthcheck"]["test"])


def test_memory_limiter_is_relative_to_the_container_limit():
    limiter = collector()["processors"]["memory_limiter"]
    assert 50 <= limiter["limit_percentage"] <= 90
    assert limiter["spike_limit_percentage"] < limiter["limit_percentage"]


PERSONAL = [
    "jane.doe@example.com",
    "tok_4eC39HqLyjWDarjtT1zdp7dc",
    "4242424242424242",
    "4242 4242 4242 4242",
    "4000-0566-5566-5556",
]
NOT_PERSONAL = [
    "6f1c2a4e-1234-5678-9012-345678901234",  # an order id (UUID), even with digit-only groups
    "inv-6f1c2a4e-1234-5678-9012-345678901234",
    "acct-0001",
    "POST /checkout",
    "eu-west",
    "1700000000",  # a ten-digit epoch second
]


@pytest.mark.parametrize("value", PERSONAL)
def test_redaction_masks_personal_data(value: str):
    patterns = [re.compile(p) for p in collector()["processors"]["redaction"]["blocked_values"]]
    assert any(p.search(f"customer {value} paid") for p in patterns), value


@pytest.mark.parametrize("value", NOT_PERSONAL)
def test_redaction_leaves_ids_and_vocabulary_alone(value: str):
    patterns = [re.compile(p) for p in collector()["processors"]["redaction"]["blocked_values"]]
    assert not any(p.search(value) for p in patterns), value


def test_log_bodies_and_span_events_are_redacted_too():
    transform = collector()["processors"]["transform/redact"]
    log_statements = " ".join(s for group in transform["log_statements"] for s in group["statements"])
    trace_statements = " ".join(s for group in transform["trace_statements"] for s in group["statements"])
    assert "log.body" in log_statements and "@" in log_statements and "tok_" in log_statements
    assert "spanevent.attributes" in trace_statements
    assert "transform/redact" in collector()["service"]["pipelines"]["logs"]["processors"]


def test_self_metrics_are_exposed_for_prometheus_under_the_names_the_list_assumes():
    """tests/stack/collector_self_metrics_0.159.0.txt holds instrument names without `_total` or
    unit suffixes: true only while the reader says so (NoTranslation in otelconf v0.25.0)."""
    (reader,) = collector()["service"]["telemetry"]["metrics"]["readers"]
    exporter = reader["pull"]["exporter"]["prometheus"]
    assert exporter["host"] == "0.0.0.0"
    assert exporter["port"] == 8888
    assert exporter["without_type_suffix"] is True
    assert exporter["without_units"] is True
    assert exporter["without_scope_info"] is True
