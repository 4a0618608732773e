"""The Prometheus HTTP API (v1) as both backends use it: alerts, instant and range queries, exemplars.

Answers follow the documented envelope `{"status": "success"|"error", "data": ..., "errorType",
"error"}`, which Prometheus 2.42 (local mode) and 3.14 (compose stack) share.
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

from wayfinder.query import promql
from wayfinder.query.model import Alert, Breakdown, ExemplarRef, MetricRef, QueryError, Series

CHART_POINTS = 30


class PrometheusAPI:
    """A thin client of one Prometheus; `client` may carry a MockTransport (unit tests)."""

    def __init__(self, url: str, client: httpx.Client | None = None, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout_s)

    def get(self, path: str, **params: Any) -> Any:
        """The `data` of one API answer; QueryError for an error answer or no answer."""
        try:
            response = self._client.get(f"{self.url}/api/v1/{path}", params=params)
        except httpx.HTTPError as exc:
            raise QueryError(f"Prometheus at {self.url} did not answer: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise QueryError(
                f"Prometheus answered HTTP {response.status_code}: {response.text[:200]}"
            ) from None
        if body.get("status") != "success":
            raise QueryError(f"Prometheus: {body.get('errorType', 'error')}: {body.get('error', body)}")
        return body.get("data")

    # -- the questions ------------------------------------------------------------------------

    def alerts(self) -> list[Alert]:
        data = self.get("alerts")
        alerts = [
            Alert(
                name=a["labels"].get("alertname", "?"),
                state=a.get("state", "?"),
                labels=dict(a.get("labels", {})),
                annotations=dict(a.get("annotations", {})),
                active_at=a.get("activeAt", ""),
                value=str(a.get("value", "")),
            )
            for a in data.get("alerts", [])
            if a.get("state") in ("firing", "pending")
        ]
        # Firing first, then by name: what pages someone comes first.
        return sorted(alerts, key=lambda a: (a.state != "firing", a.name, sorted(a.labels.items())))

    def fired(self, range_s: float) -> tuple[str, list[dict[str, str]]]:
        """The labels of every alert that was firing at some point in the last `range_s` seconds."""
        expr = f'max_over_time(ALERTS{{alertstate="firing"}}[{max(1, round(range_s))}s])'
        found = [dict(r["metric"]) for r in self._vector(expr, time.time())]
        return expr, sorted(found, key=lambda labels: sorted(labels.items()))

    def metric(self, name: str) -> MetricRef:
        return promql.resolve(name, self.get("label/__name__/values"))

    def breakdown(
        self,
        metric: MetricRef,
        by: str | None,
        quantile: float,
        window: str,
        range_s: float,
        where: tuple[tuple[str, str], ...] = (),
    ) -> tuple[str, Breakdown]:
        expr = promql.breakdown_expr(metric, by, quantile, window, where)
        now = time.time()
        current = {_key(r["metric"], by): _number(r["value"][1]) for r in self._vector(expr, now)}
        # Seconds as a plain float: a duration string with a fraction ("5.1s") is refused.
        step = max(1.0, range_s / CHART_POINTS)
        ranged = self.get("query_range", query=expr, start=now - range_s, end=now, step=f"{step:.3f}")
        points: dict[str, tuple[tuple[float, float], ...]] = {}
        for result in ranged.get("result", []):
            values = tuple(
                (float(t), v) for t, raw in result.get("values", []) if (v := _number(raw)) is not None
            )
            points[_key(result["metric"], by)] = values
        keys = sorted(set(current) | set(points))
        series = [Series(k, current.get(k), points.get(k, ())) for k in keys]
        # The worst first: the slow region leads the table.
        series.sort(key=lambda s: (s.value is None, -(s.value or 0.0), s.label_value))
        stat = promql.statistic(metric, quantile)
        return expr, Breakdown(metric, by, stat, window, tuple(series))

    def exemplars(self, metric: MetricRef, range_s: float) -> tuple[str, list[ExemplarRef]]:
        selector = promql.exemplar_selector(metric)
        now = time.time()
        data = self.get("query_exemplars", query=selector, start=now - range_s, end=now)
        found = [
            ExemplarRef(
                trace_id=e.get("labels", {}).get("trace_id", ""),
                span_id=e.get("labels", {}).get("span_id", ""),
                value=float(e.get("value", "nan")),
                time_s=float(e.get("timestamp", 0)),
                series=dict(group.get("seriesLabels", {})),
            )
            for group in data or []
            for e in group.get("exemplars", [])
            if e.get("labels", {}).get("trace_id")
        ]
        found.sort(key=lambda e: (-e.value, -e.time_s))
        return selector, found

    def _vector(self, expr: str, at: float) -> list[dict[str, Any]]:
        data = self.get("query", query=expr, time=at)
        if data.get("resultType") != "vector":
            raise QueryError(f"expected a vector from {expr!r}, got {data.get('resultType')}")
        result: list[dict[str, Any]] = data.get("result", [])
        return result


def _key(labels: dict[str, str], by: str | None) -> str:
    if by is None:
        return "(all)"
    return labels.get(by, "(none)")


def _number(raw: str) -> float | None:
    value = float(raw)
    return None if math.isnan(value) or math.isinf(value) else value
