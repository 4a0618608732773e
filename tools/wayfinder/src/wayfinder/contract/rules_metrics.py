"""Metric rules: every exported metric is a registered one, with its instrument, unit and labels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wayfinder.contract.model import Registry
from wayfinder.contract.report import Violation
from wayfinder.contract.sites import Telemetry
from wayfinder.store.model import MetricPoint

# What each instrument looks like once exported over OTLP: (data point kinds, monotonic).
_EXPORTED_AS: dict[str, tuple[tuple[str, ...], bool | None]] = {
    "counter": (("sum",), True),
    "updowncounter": (("sum",), False),
    "histogram": (("histogram", "exponential_histogram"), None),
    "gauge": (("gauge",), None),
}


def metric_unregistered(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for point in _distinct_points(t):
        if point.name not in reg.metrics:
            yield _on_metric(point, "metric.unregistered", "no metric in the registry has this name")


def metric_instrument(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for point in _distinct_points(t):
        metric = reg.metrics.get(point.name)
        if metric is None:
            continue
        kinds, monotonic = _EXPORTED_AS[metric.instrument]
        if point.kind not in kinds or (monotonic is not None and point.monotonic not in (None, monotonic)):
            exported = f"{_monotonic(point)}{point.kind}"
            message = f"exported as a {exported}, the registry declares a {metric.instrument}"
            yield _on_metric(point, "metric.instrument", message)


def metric_unit(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for point in _distinct_points(t):
        metric = reg.metrics.get(point.name)
        if metric is not None and point.unit != metric.unit:
            message = f"unit {point.unit!r}, the registry says {metric.unit!r}"
            yield _on_metric(point, "metric.unit", message)


def metric_labels(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for point in t.metric_points:
        metric = reg.metrics.get(point.name)
        if metric is None:
            continue
        for key in point.attributes:
            if key not in metric.attributes:
                declared = ", ".join(metric.attributes) or "none"
                message = f"{key} is not declared for it (declared: {declared})"
                yield _on_metric(point, "metric.attribute_undeclared", message, key)


def _on_metric(point: MetricPoint, rule: str, message: str, attribute: str | None = None) -> Violation:
    return Violation(rule, message, point.service_name, "metrics", point.name, attribute)


def _distinct_points(t: Telemetry) -> list[MetricPoint]:
    # One point per (metric, service, kind, unit, monotonic): the per-metric rules look at
    # the instrument, not at every exported point.
    seen: dict[tuple[Any, ...], MetricPoint] = {}
    for point in t.metric_points:
        seen.setdefault((point.name, point.service_name, point.kind, point.unit, point.monotonic), point)
    return list(seen.values())


def _monotonic(point: MetricPoint) -> str:
    if point.kind != "sum" or point.monotonic is None:
        return ""
    return "monotonic " if point.monotonic else "non-monotonic "
