"""Every scenario can be scoped in Grafana: its answer key's metric, breakdown and scope are on a dashboard.

Derived from the scenario files, checked statically against the provisioned dashboards:

* the evidence metric is queried by some panel, and its `by` label is used with it (a `by (...)`
  clause or a matcher in the same query, or a template variable over that metric);
* each scope key (region, route, account tier, queue, service.version, SKU) is a label some
  Prometheus query or variable uses, and is where the evidence is: on the evidence metric when
  that metric carries the label (telemetry/captured/metrics.json says which labels it has), else
  on a Tempo panel whose TraceQL names the evidence span and the attribute, which the registry
  must declare on that span (a panel asking for an attribute nobody sets would show nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stack_sources import CAPTURED, OTLP_RESOURCE_LABELS, ROOT, dashboard_queries, dashboards, panels
from wayfinder.contract.registry import load_registry
from wayfinder.promnames import References, catalog_from_captured, load_captured, references
from wayfinder.scenarios import catalog
from wayfinder.scenarios.model import Scenario

BOARDS = dashboards()
PROMQL = [(where, references(expr)) for where, expr in dashboard_queries(BOARDS)]
SERIES = catalog_from_captured(load_captured(CAPTURED), OTLP_RESOURCE_LABELS)
REGISTRY = load_registry(ROOT / "telemetry" / "registry")
SCENARIOS: dict[str, Scenario] = catalog.load_all()


@dataclass(frozen=True)
class ScopeKey:
    """How an answer key's scope key shows: a Prometheus label, and/or a trace attribute."""

    label: str | None
    attribute: str  # TraceQL spelling: span.<key> or resource.<key>
    span: str | None = None  # the span carrying it, when not the answer key's evidence span


SCOPE_KEYS: dict[str, ScopeKey] = {
    "region": ScopeKey("region", "span.region"),
    "route": ScopeKey("http_route", "span.http.route"),
    "account_tier": ScopeKey("account_tier", "span.account.tier"),
    "queue": ScopeKey("queue_name", "span.queue.name"),
    "service.version": ScopeKey("service_version", "resource.service.version"),
    # No metric label: one inventory.lock_stock span per SKU whose row lock a reservation takes.
    "sku": ScopeKey(None, "span.product.sku", span="inventory.lock_stock"),
}


def tempo_queries() -> list[tuple[str, str]]:
    """(where, TraceQL) for every Tempo panel query."""
    found = []
    for path, board in BOARDS.items():
        for panel in panels(board):
            panel_uid = (panel.get("datasource") or {}).get("uid")
            for target in panel.get("targets", []):
                uid = (target.get("datasource") or {}).get("uid", panel_uid)
                if uid == "tempo" and target.get("query"):
                    found.append((f"{path.name}: panel {panel.get('title')!r}", target["query"]))
    return found


def names_attribute(traceql: str, attribute: str) -> bool:
    """`span.x.y` is named as itself or unscoped (`.x.y`, which matches span and resource)."""
    scope, key = attribute.split(".", 1)
    return re.search(rf"(?<![\w.])(?:{scope})?\.{re.escape(key)}(?![\w.])", traceql) is not None


def names_span(traceql: str, span: str) -> bool:
    return re.search(rf'\bname\s*=\s*"{re.escape(span)}"', traceql) is not None


def promql_with(metric: str | None, label: str, queries: list[tuple[str, References]] = PROMQL) -> list[str]:
    """Where a Prometheus query (panel or variable) uses `label`, on `metric` when one is given."""
    wanted = (lambda refs: metric in refs.metrics) if metric else (lambda refs: True)
    return [where for where, refs in queries if label in refs.labels and wanted(refs)]


def metric_carries(metric: str, label: str) -> bool:
    labels = SERIES.labels.get(metric)
    return labels is not None and label in labels


def scope_cases() -> list[Any]:
    cases = []
    for name, scenario in SCENARIOS.items():
        if not isinstance(scenario.answer.scope, dict):
            continue
        for key in scenario.answer.scope:
            cases.append(pytest.param(name, key, id=f"{name}-{key}"))
    return cases


def metric_cases() -> list[Any]:
    return [
        pytest.param(name, id=name) for name, scenario in SCENARIOS.items() if scenario.answer.evidence.metric
    ]


def test_the_check_sees_scenarios_dashboards_and_both_query_languages():
    assert len(SCENARIOS) >= 12
    assert len(PROMQL) > 20 and len(tempo_queries()) >= 3
    assert scope_cases() and metric_cases()


def test_every_scope_key_a_scenario_uses_is_known_here():
    used = {key for s in SCENARIOS.values() if isinstance(s.answer.scope, dict) for key in s.answer.scope}
    assert used <= set(SCOPE_KEYS), f"add {sorted(used - set(SCOPE_KEYS))} to SCOPE_KEYS"


@pytest.mark.parametrize("name", metric_cases())
def test_the_evidence_metric_and_its_breakdown_are_on_a_dashboard(name: str):
    metric = SCENARIOS[name].answer.evidence.metric
    assert metric is not None
    on_panels = [where for where, refs in PROMQL if ": panel " in where and metric.name in refs.metrics]
    assert on_panels, f"{name}: no dashboard panel queries {metric.name}"
    assert promql_with(metric.name, metric.by), (
        f"{name}: no panel or variable breaks {metric.name} down by {metric.by} (by clause or matcher)"
    )


@pytest.mark.parametrize(("name", "key"), scope_cases())
def test_the_scope_is_where_the_evidence_is(name: str, key: str):
    scenario = SCENARIOS[name]
    scope = SCOPE_KEYS[key]
    metric = scenario.answer.evidence.metric
    if scope.label is not None:
        assert promql_with(None, scope.label), f"{name}: no Prometheus panel or variable uses {scope.label}"
        if metric is not None and metric_carries(metric.name, scope.label):
            assert promql_with(metric.name, scope.label), (
                f"{name}: {metric.name} carries {scope.label} but no panel or variable uses it with it"
            )
            return
    # The evidence metric cannot show this scope: a trace panel must, on a span that carries it.
    span = scope.span or (scenario.answer.evidence.span.name if scenario.answer.evidence.span else None)
    assert span, f"{name}: scope {key} is neither on the evidence metric nor on an evidence span"
    panels_found = [
        where for where, q in tempo_queries() if names_span(q, span) and names_attribute(q, scope.attribute)
    ]
    assert panels_found, f"{name}: no Tempo panel shows {scope.attribute} of {span} spans"
    declared = REGISTRY.span_defs_for(span)
    attribute = scope.attribute.split(".", 1)[1]
    if scope.attribute.startswith("resource."):
        assert attribute in REGISTRY.resource_attributes, f"resource attribute {attribute} is not declared"
    else:
        assert any(attribute in d.attributes for d in declared), (
            f"{name}: the registry declares no {attribute} on {span}, so {panels_found} would show nothing"
        )


def test_the_matchers_tell_near_misses_apart():
    """A grouping by another label, a longer attribute or span name does not count."""
    histogram = "http_server_request_duration_seconds_count"
    by_name = [("a", references(f"sum by (service_name) (rate({histogram}[5m]))"))]
    assert not promql_with(histogram, "service_version", by_name)
    matcher = [("b", references('sum(up{service_version="0.2.0"})'))]
    assert promql_with("up", "service_version", matcher) == ["b"]
    assert not promql_with("outbox_pending", "service_version", matcher)
    assert not names_attribute('{ name = "x" } | select(span.product.skus)', "span.product.sku")
    assert not names_attribute('{ resource.product.sku = "x" }', "span.product.sku")
    assert names_attribute('{ .product.sku = "SKU-LAMP" }', "span.product.sku")
    assert not names_span('{ name = "inventory.lock_stock_wait" }', "inventory.lock_stock")


def test_the_annotation_query_shows_scenario_switches_on_every_dashboard():
    for path, board in BOARDS.items():
        queries = [q for q in board["annotations"]["list"] if (q.get("target") or {}).get("type") == "tags"]
        wanted = {"wayfinder", "scenario"}
        shown = [q for q in queries if q["enable"] and not q["target"]["matchAny"]]
        missing = f"{Path(path).name} has no annotation query on the tags wayfinder and scenario"
        assert any(wanted <= set(q["target"]["tags"]) for q in shown), missing
