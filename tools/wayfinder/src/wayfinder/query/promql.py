"""PromQL for the breakdown: a metric name (OTLP or Prometheus spelling) resolved, and its query.

The same expressions run against local mode's Prometheus 2.42 and the stack's Prometheus 3.14:
both store the metrics under the names prometheus/otlptranslator gives them (wayfinder.promnames).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from wayfinder.promnames import label_name
from wayfinder.query.model import MetricRef, QueryError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:.]*$")
_SEGMENT = re.compile(r"[^a-zA-Z0-9:]+")


def seconds(text: str) -> float:
    """`500ms`, `1s`, `5m`, `1.5h` as seconds; ValueError for anything else."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 500ms, 1s, 5m)")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def window(text: str) -> str:
    """A PromQL range (`5m`), checked: an integer count of one unit."""
    if not re.match(r"^\d+(ms|s|m|h|d)$", text.strip()):
        raise ValueError(f"not a PromQL window: {text!r} (use e.g. 30s, 5m, 1h)")
    return text.strip()


def resolve(name: str, known: Iterable[str]) -> MetricRef:
    """The metric `name` means among the series names Prometheus knows.

    `checkout.request.duration`, `checkout_request_duration_seconds` and
    `checkout_request_duration_seconds_bucket` all mean the same histogram; a unit word the
    OTLP name lacks (`_seconds`) may follow it, and `_total` marks a counter.
    """
    if not _NAME.match(name):
        raise QueryError(f"not a metric name: {name!r}")
    stem = "_".join(t for t in _SEGMENT.split(name) if t)
    stem = re.sub(r"_(bucket|count|sum|total)$", "", stem)
    names = set(known)
    pattern = re.compile(rf"^{re.escape(stem)}(_[a-z]+)?(_bucket|_total)?$")
    candidates = sorted(n for n in names if pattern.match(n))
    for suffix, kind in (("_bucket", "histogram"), ("_total", "counter")):
        found = [n for n in candidates if n.endswith(suffix)]
        if found:
            # The shortest: the stem plus at most the unit word.
            return MetricRef(min(found, key=len).removesuffix(suffix), kind)
    exact = [n for n in candidates if not n.endswith(("_bucket", "_total"))]
    if exact:
        return MetricRef(min(exact, key=len), "gauge")
    close = sorted(n for n in names if stem.split("_")[0] in n)[:8]
    hint = f"; similar: {', '.join(close)}" if close else ""
    raise QueryError(f"no metric named {name!r} in Prometheus{hint}")


def by_label(label: str | None) -> str | None:
    """An attribute key (`service.version`) or label name as the Prometheus label name."""
    return None if label is None else label_name(label)


def matchers(where: tuple[tuple[str, str], ...]) -> str:
    """`{service_name="inventory"}` from attribute or label names and their values."""
    # A JSON string is a valid PromQL double-quoted string (same escapes).
    return "{" + ", ".join(f"{label_name(k)}={json.dumps(v)}" for k, v in where) + "}" if where else ""


def breakdown_expr(
    metric: MetricRef, by: str | None, quantile: float, window: str, where: tuple[tuple[str, str], ...] = ()
) -> str:
    """The PromQL of one breakdown: quantile of a histogram, rate of a counter, sum of a gauge;
    `where` keeps only the series with those label values (one service's requests, say)."""
    selector = matchers(where)
    if metric.kind == "histogram":
        if not 0 < quantile < 1:
            raise QueryError(f"a quantile is between 0 and 1, not {quantile}")
        labels = f"le, {by}" if by else "le"
        buckets = f"{metric.base}_bucket{selector}[{window}]"
        return f"histogram_quantile({quantile:g}, sum by ({labels}) (rate({buckets})))"
    grouping = f"sum by ({by}) " if by else "sum "
    if metric.kind == "counter":
        return f"{grouping}(rate({metric.base}_total{selector}[{window}]))"
    return f"{grouping}({metric.base}{selector})"


def statistic(metric: MetricRef, quantile: float) -> str:
    if metric.kind == "histogram":
        return f"p{quantile * 100:g}"
    return "rate" if metric.kind == "counter" else "value"


def exemplar_selector(metric: MetricRef) -> str:
    """The series whose exemplars answer `--exemplars`: a histogram's buckets, a counter's total."""
    suffix = {"histogram": "_bucket", "counter": "_total"}.get(metric.kind, "")
    return metric.base + suffix
