"""Metric points -> OpenMetrics text, labelled exactly as Prometheus 3's OTLP receiver labels them.

The compose stack pushes OTLP into Prometheus 3.14, whose translator (prometheus/prometheus,
storage/remote/otlptranslator) decides every series name and label; local mode's Prometheus
2.42 has no OTLP receiver and scrapes this text instead. So the same rule files work in both
modes, this module reproduces that translation:

* names from `wayfinder.promnames` (unit and `_total` suffixes, `_bucket`/`_sum`/`_count`);
* point attributes as labels (invalid characters -> `_`; keys that collide after that are
  joined with `;` in key order); the promoted resource attributes of prometheus.yml's
  `otlp.promote_resource_attributes` unless an attribute already has the name;
  `job` = "<service.namespace>/<service.name>", `instance` = service.instance.id;
* `le` written like Go's `strconv.FormatFloat(bound, 'f', -1, 64)` ("0.005", "1", "+Inf");
* exemplars (`trace_id`, `span_id`) on the bucket holding their value and on counter totals;
* `target_info` per resource, with its non-identifying attributes, job and instance.

Samples carry no timestamp: Prometheus stamps them at scrape time, and a series that vanishes
from the text gets a staleness marker, like an OTLP series that stops being pushed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from wayfinder.promnames import base_name, label_name
from wayfinder.store.model import AttributeValue, Exemplar, MetricPoint

CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
# prometheus/prometheus.yml `otlp.promote_resource_attributes` (a unit test keeps them equal).
PROMOTED_RESOURCE_ATTRIBUTES = ("service.name", "service.version", "deployment.environment.name")
# The resource attributes that make `job` and `instance`, left off target_info.
IDENTIFYING = ("service.namespace", "service.name", "service.instance.id")
SUPPORTED_KINDS = ("sum", "gauge", "histogram")
_MAX_EXEMPLAR_RUNES = 128  # OpenMetrics 1.0: the label set of one exemplar


def go_fixed(value: float) -> str:
    """`strconv.FormatFloat(value, 'f', -1, 64)`: shortest digits, never an exponent."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def attribute_text(value: AttributeValue) -> str:
    """An attribute value as OTel's pcommon `Value.AsString()` renders it (the label value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        magnitude = abs(value)
        # encoding/json's number format: exponent only outside [1e-6, 1e21).
        if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21) and math.isfinite(value):
            mantissa, _, exponent = repr(value).partition("e")
            sign, digits = exponent[:1], exponent[1:].lstrip("0") or "0"
            return f"{mantissa}e{sign}{digits}"
        return go_fixed(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def series_labels(
    attributes: Mapping[str, AttributeValue], resource: Mapping[str, AttributeValue]
) -> dict[str, str]:
    """The labels (no `__name__`, no `le`) one point's series carries."""
    labels: dict[str, str] = {}
    for key in sorted(attributes):
        name = label_name(key)
        text = attribute_text(attributes[key])
        labels[name] = f"{labels[name]};{text}" if name in labels else text
    for key in PROMOTED_RESOURCE_ATTRIBUTES:
        if key in resource and label_name(key) not in labels:
            labels[label_name(key)] = attribute_text(resource[key])
    labels.update(_job_and_instance(resource))
    return {name: value for name, value in labels.items() if value != ""}


def _job_and_instance(resource: Mapping[str, AttributeValue]) -> dict[str, str]:
    labels: dict[str, str] = {}
    if "service.name" in resource:
        job = attribute_text(resource["service.name"])
        if "service.namespace" in resource:
            job = f"{attribute_text(resource['service.namespace'])}/{job}"
        labels["job"] = job
    if "service.instance.id" in resource:
        labels["instance"] = attribute_text(resource["service.instance.id"])
    return labels


def target_info_labels(resource: Mapping[str, AttributeValue]) -> dict[str, str] | None:
    """target_info's labels for one resource, or None where Prometheus writes no target_info."""
    others = {k: v for k, v in resource.items() if k not in IDENTIFYING}
    identity = _job_and_instance(resource)
    if not others or not identity:
        return None
    labels = series_labels(others, {})
    labels.update(identity)
    return labels


@dataclass
class _Family:
    name: str
    kind: str  # OpenMetrics type: counter | gauge | histogram | info
    help: str
    lines: list[str] = field(default_factory=list)


def render(points: Iterable[MetricPoint]) -> str:
    """The OpenMetrics text for the latest point of each series (one point per series given)."""
    families: dict[str, _Family] = {}
    resources: dict[str, Mapping[str, AttributeValue]] = {}
    for point in points:
        if point.kind not in SUPPORTED_KINDS:
            continue  # exponential histograms and summaries: the shop exports neither
        labels = series_labels(point.attributes, point.resource)
        name = base_name(point.name, point.unit, point.kind, point.monotonic)
        if point.kind == "histogram":
            family = _family(families, name, "histogram", point.description)
            family.lines.extend(_histogram_lines(name, labels, point))
        elif point.kind == "sum" and point.monotonic:
            family = _family(families, name.removesuffix("_total"), "counter", point.description)
            exemplar = _latest(point.exemplars)
            family.lines.append(_sample(name, labels, point.value, exemplar))
        else:
            family = _family(families, name, "gauge", point.description)
            family.lines.append(_sample(name, labels, point.value))
        resources[json.dumps(point.resource, sort_keys=True)] = point.resource
    for resource in resources.values():
        info = target_info_labels(resource)
        if info is not None:
            family = _family(families, "target", "info", "Target metadata")
            family.lines.append(_sample("target_info", info, 1))
    out: list[str] = []
    for family in families.values():
        if family.help:
            out.append(f"# HELP {family.name} {_escape(family.help)}")
        out.append(f"# TYPE {family.name} {family.kind}")
        out.extend(family.lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"


def _family(families: dict[str, _Family], name: str, kind: str, help_text: str) -> _Family:
    family = families.get(name)
    if family is None:
        family = families[name] = _Family(name, kind, help_text)
    return family


def _histogram_lines(name: str, labels: dict[str, str], point: MetricPoint) -> list[str]:
    bounds = [*point.bucket_bounds, math.inf]
    # Exemplars go to the first bucket whose bound holds their value, as the translator does.
    by_bucket: dict[int, list[Exemplar]] = {}
    for exemplar in point.exemplars:
        index = next(i for i, bound in enumerate(bounds) if exemplar.value <= bound or i == len(bounds) - 1)
        by_bucket.setdefault(index, []).append(exemplar)
    lines: list[str] = []
    cumulative = 0
    for index, bound in enumerate(bounds):
        if index < len(bounds) - 1:
            cumulative += point.bucket_counts[index] if index < len(point.bucket_counts) else 0
            count = cumulative
        else:
            count = point.count or 0  # +Inf is the total, as Prometheus writes it
        bucket_labels = {**labels, "le": go_fixed(bound)}
        lines.append(_sample(f"{name}_bucket", bucket_labels, count, _latest(by_bucket.get(index, []))))
    lines.append(_sample(f"{name}_count", labels, point.count or 0))
    if point.sum is not None:
        lines.append(_sample(f"{name}_sum", labels, point.sum))
    return lines


def _latest(exemplars: Iterable[Exemplar]) -> Exemplar | None:
    # One exemplar per sample line in OpenMetrics: the newest is the one worth clicking.
    return max(exemplars, key=lambda e: e.time_unix_nano, default=None)


def _sample(
    name: str, labels: Mapping[str, str], value: float | None, exemplar: Exemplar | None = None
) -> str:
    line = f"{name}{_label_set(labels)} {_number(value)}"
    if exemplar is not None:
        exemplar_labels = {"trace_id": exemplar.trace_id or "", "span_id": exemplar.span_id or ""}
        exemplar_labels = {k: v for k, v in exemplar_labels.items() if v}
        runes = sum(len(k) + len(v) for k, v in exemplar_labels.items())
        if exemplar_labels and runes <= _MAX_EXEMPLAR_RUNES:
            seconds, nanos = divmod(exemplar.time_unix_nano, 1_000_000_000)
            line += f" # {_label_set(exemplar_labels)} {_number(exemplar.value)} {seconds}.{nanos:09d}"
    return line


def _label_set(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{name}="{_escape(value, quote=True)}"' for name, value in sorted(labels.items()))
    return "{" + inner + "}"


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _escape(text: str, quote: bool = False) -> str:
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n")
    return escaped.replace('"', '\\"') if quote else escaped
