"""Readers for the stack's configuration files, shared by the tests in this folder.

Also the short list of series that exist in Prometheus without being exported by our services
(Tempo's metrics-generator, the collector's self-metrics, Prometheus itself), each with where it
comes from.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from wayfinder.promnames import SeriesCatalog, catalog_from_captured, load_captured

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CAPTURED = ROOT / "telemetry" / "captured" / "metrics.json"
DASHBOARDS = ROOT / "grafana" / "dashboards"
DATASOURCES = ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
RULES = ROOT / "prometheus" / "rules"
RULE_TESTS = ROOT / "prometheus" / "tests"

# The brief's deployables: compose service = folder under services/ = service.name.
PYTHON_SERVICES: dict[str, str] = {
    "checkout-api": "checkout_api",
    "inventory": "inventory",
    "payment": "payment",
    "payment-provider": "payment_provider",
    "invoice-worker": "invoice_worker",
    "outbox-relay": "outbox_relay",
}
INFRA_SERVICES = {"postgres", "redis", "otel-collector", "tempo", "prometheus", "loki", "grafana"}
# Started only on request (`docker compose --profile load ...`): the Locust web UI.
OPTIONAL_SERVICES = {"loadgen"}

# Labels on every OTLP series: promoted resource attributes (prometheus.yml otlp block) plus the
# job/instance Prometheus derives from service.namespace/service.name and service.instance.id.
OTLP_RESOURCE_LABELS = ("service_name", "service_version", "deployment_environment_name", "job", "instance")

_SPANMETRICS_LABELS = {
    "service",
    "span_name",
    "span_kind",
    "status_code",
    "status_message",
    "region",
    "source",
    "job",
    "instance",
}
_SERVICE_GRAPH_LABELS = {"client", "server", "connection_type", "failed", "source", "job", "instance"}

# Series Prometheus has that no service exports. None = labels we cannot pin down: any label passes.
EXTERNAL_SERIES: dict[str, set[str] | None] = {
    # Tempo metrics-generator, span-metrics processor (tempo/tempo.yaml), remote-written; latency in s.
    "traces_spanmetrics_calls_total": _SPANMETRICS_LABELS,
    "traces_spanmetrics_latency_bucket": _SPANMETRICS_LABELS | {"le"},
    "traces_spanmetrics_latency_sum": _SPANMETRICS_LABELS,
    "traces_spanmetrics_latency_count": _SPANMETRICS_LABELS,
    "traces_spanmetrics_size_total": _SPANMETRICS_LABELS,
    # Tempo metrics-generator, service-graphs processor (the Home service map reads these).
    "traces_service_graph_request_total": _SERVICE_GRAPH_LABELS,
    "traces_service_graph_request_failed_total": _SERVICE_GRAPH_LABELS,
    "traces_service_graph_request_server_seconds_bucket": _SERVICE_GRAPH_LABELS | {"le"},
    "traces_service_graph_request_server_seconds_sum": _SERVICE_GRAPH_LABELS,
    "traces_service_graph_request_server_seconds_count": _SERVICE_GRAPH_LABELS,
    "traces_service_graph_request_client_seconds_bucket": _SERVICE_GRAPH_LABELS | {"le"},
    "traces_service_graph_request_client_seconds_sum": _SERVICE_GRAPH_LABELS,
    "traces_service_graph_request_client_seconds_count": _SERVICE_GRAPH_LABELS,
    # Prometheus itself: the scrape health series and the alert state series.
    "up": {"job", "instance"},
    "ALERTS": None,
}
# The collector's self-metrics, from the list derived from the pinned release's sources (the file
# says how): counters keep their instrument names (no _total), histograms get _bucket/_sum/_count.
# Their component labels (receiver, exporter, processor, transport, data_type, ...) vary between
# releases, so any label passes.
COLLECTOR_SELF_METRICS = Path(__file__).resolve().parent / "collector_self_metrics_0.159.0.txt"


def collector_self_metrics(path: Path = COLLECTOR_SELF_METRICS) -> dict[str, str]:
    """Instrument name -> kind (counter, updowncounter, gauge, histogram), as the list says."""
    metrics = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind, _unit, _source = line.split("\t")
            metrics[name] = kind
    return metrics


def collector_series(metrics: dict[str, str]) -> list[str]:
    """The series names Prometheus stores for those instruments (no suffix but a histogram's)."""
    series = []
    for name, kind in metrics.items():
        if kind == "histogram":
            series += [f"{name}_bucket", f"{name}_sum", f"{name}_count"]
        else:
            series.append(name)
    return series


for _series in collector_series(collector_self_metrics()):
    EXTERNAL_SERIES[_series] = None

# The collector's span_metrics connector (collector/tail-sampling.yaml, opt-in profile only):
# namespace traces.span.metrics, histogram unit s, translated by Prometheus's OTLP endpoint like
# any OTLP metric (calls is a monotonic sum -> _total; duration in s -> _seconds_*).
_SPAN_METRICS_CONNECTOR_LABELS = {
    "service_name",
    "span_name",
    "span_kind",
    "status_code",
    "region",
    *OTLP_RESOURCE_LABELS,
}
EXTERNAL_SERIES["traces_span_metrics_calls_total"] = _SPAN_METRICS_CONNECTOR_LABELS
for _suffix in ("bucket", "sum", "count"):
    EXTERNAL_SERIES[f"traces_span_metrics_duration_seconds_{_suffix}"] = _SPAN_METRICS_CONNECTOR_LABELS | (
        {"le"} if _suffix == "bucket" else set()
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def dashboards(folder: Path = DASHBOARDS) -> dict[Path, dict[str, Any]]:
    return {path: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def alert_rules() -> list[tuple[Path, dict[str, Any]]]:
    rules: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(RULES.glob("*.yml")):
        for group in load_yaml(path)["groups"]:
            rules.extend((path, rule) for rule in group["rules"] if "alert" in rule)
    return rules


def datasource_uids_referenced(node: Any) -> Iterator[str]:
    """Every uid a Grafana JSON/YAML tree points at: datasource objects and *datasourceUid keys."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict) and "uid" in value:
                if not str(value["uid"]).startswith("-- "):  # "-- Grafana --" built-in annotations
                    yield str(value["uid"])
            elif key.lower().endswith("datasourceuid") and isinstance(value, str):
                yield value
            else:
                yield from datasource_uids_referenced(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasource_uids_referenced(item)


_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<selector>.*),\s*(?P<label>\w+)\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((?P<expr>.*)\)\s*$", re.S)


def _variable_query(definition: str) -> str | None:
    """A Prometheus template variable's query as plain PromQL (None for label_names() and co.)."""
    if match := _LABEL_VALUES.match(definition):
        return f"count by ({match['label']}) ({match['selector']})"
    if match := _QUERY_RESULT.match(definition):
        return match["expr"]
    return None


def dashboard_queries(dashboard_files: dict[Path, dict[str, Any]]) -> list[tuple[str, str]]:
    """(where, PromQL) for every Prometheus query in the dashboards: panels and variables."""
    queries: list[tuple[str, str]] = []
    for path, board in dashboard_files.items():
        for panel in panels(board):
            panel_uid = (panel.get("datasource") or {}).get("uid")
            for target in panel.get("targets", []):
                uid = (target.get("datasource") or {}).get("uid", panel_uid)
                if uid == "prometheus" and target.get("expr"):
                    queries.append((f"{path.name}: panel {panel.get('title')!r}", target["expr"]))
        for variable in board.get("templating", {}).get("list", []):
            if (variable.get("datasource") or {}).get("uid") == "prometheus":
                query = _variable_query(variable.get("definition", ""))
                if query:
                    queries.append((f"{path.name}: variable ${variable['name']}", query))
    return queries


def rule_queries() -> list[tuple[str, str]]:
    return [(f"{path.name}: alert {rule['alert']}", rule["expr"]) for path, rule in alert_rules()]


def datasource_link_queries() -> list[tuple[str, str]]:
    """The Tempo datasource's trace -> metrics queries ($$ is Grafana's escaped $)."""
    queries = []
    for source in load_yaml(DATASOURCES)["datasources"]:
        for query in source.get("jsonData", {}).get("tracesToMetrics", {}).get("queries", []):
            queries.append((f"datasources.yaml: tracesToMetrics {query['name']!r}", query["query"]))
    return queries


def series_catalog(captured: Path = CAPTURED) -> SeriesCatalog:
    catalog = catalog_from_captured(load_captured(captured), OTLP_RESOURCE_LABELS)
    for series, labels in EXTERNAL_SERIES.items():
        catalog.add(series, labels)
    return catalog


def tool(name: str) -> str | None:
    """A command-line tool from this interpreter's environment first, then PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def memory_bytes(value: str | int) -> int:
    """A compose memory value ("256M", "1g", "512mb", 1048576) in bytes."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([bkmg]?)b?\s*", str(value).lower())
    if not match:
        raise ValueError(f"not a memory size: {value!r}")
    factor = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2)]
    return int(float(match.group(1)) * factor)
