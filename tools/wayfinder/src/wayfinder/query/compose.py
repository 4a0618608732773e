"""The compose stack's backend over HTTP: Prometheus for metrics and alerts, Tempo, Loki; with links.

Kept small on purpose (this machine cannot run the stack; tests replay recorded answers): every
answer carries the Grafana Explore link that shows the same thing, for whatever the terminal omits.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from wayfinder.navigator.tree import TraceSummary
from wayfinder.query import explore, logql, traceql
from wayfinder.query.model import Alert, Answer, Breakdown, ExemplarRef, QueryError, TraceQuery
from wayfinder.query.prometheus_api import PrometheusAPI
from wayfinder.query.promql import by_label, exemplar_selector
from wayfinder.query.settings import ComposeEndpoints
from wayfinder.store.model import LogRecordRow, SpanRecord


class ComposeBackend:
    name = "compose"

    def __init__(self, endpoints: ComposeEndpoints, client: httpx.Client | None = None) -> None:
        self.endpoints = endpoints
        self._client = client or httpx.Client(timeout=15.0)
        self.prometheus = PrometheusAPI(endpoints.prometheus_url, self._client)

    @property
    def grafana(self) -> str:
        return self.endpoints.grafana_url

    def alerts(self) -> Answer[list[Alert]]:
        link = explore.promql_link(self.grafana, 'ALERTS{alertstate=~"firing|pending"}')
        return Answer(self.prometheus.alerts(), "GET /api/v1/alerts", link)

    def fired(self, range_s: float) -> Answer[list[dict[str, str]]]:
        expr, found = self.prometheus.fired(range_s)
        return Answer(found, expr, explore.promql_link(self.grafana, expr))

    def breakdown(
        self,
        metric: str,
        by: str | None,
        quantile: float,
        window: str,
        range_s: float,
        where: tuple[tuple[str, str], ...] = (),
    ) -> Answer[Breakdown]:
        ref = self.prometheus.metric(metric)
        expr, found = self.prometheus.breakdown(ref, by_label(by), quantile, window, range_s, where)
        return Answer(found, expr, explore.promql_link(self.grafana, expr))

    def exemplars(self, metric: str, by: str | None, range_s: float) -> Answer[list[ExemplarRef]]:
        ref = self.prometheus.metric(metric)
        selector, found = self.prometheus.exemplars(ref, range_s)
        # Explore draws exemplars on the graph of the series they belong to.
        return Answer(found, selector, explore.promql_link(self.grafana, exemplar_selector(ref)))

    def search_traces(self, query: TraceQuery) -> Answer[list[TraceSummary]]:
        q = traceql.traceql(query)
        now = int(time.time())
        params = {"q": q, "limit": query.limit, "start": now - int(self.endpoints.lookback_s), "end": now}
        document = self._json(self._get(f"{self.endpoints.tempo_url}/api/search", params), "Tempo")
        return Answer(traceql.summaries(document), q, explore.traceql_link(self.grafana, q))

    def trace(self, trace_id: str) -> Answer[list[SpanRecord]]:
        response = self._get(f"{self.endpoints.tempo_url}/api/traces/{trace_id}", {})
        link = explore.traceql_link(self.grafana, trace_id)
        if response.status_code == 404:
            return Answer([], f"trace {trace_id}", link)  # not (or no longer) in Tempo
        return Answer(traceql.spans(self._json(response, "Tempo")), f"trace {trace_id}", link)

    def trace_logs(self, trace_id: str) -> Answer[list[LogRecordRow]]:
        try:
            query = logql.trace_logs(trace_id)
        except ValueError as exc:
            raise QueryError(str(exc)) from exc
        end = time.time_ns()
        params = {
            "query": query,
            "start": end - int(self.endpoints.lookback_s * 1e9),
            "end": end,
            "limit": 1000,
            "direction": "forward",
        }
        body = self._json(self._get(f"{self.endpoints.loki_url}/loki/api/v1/query_range", params), "Loki")
        if body.get("status") != "success":
            raise QueryError(f"Loki: {body.get('error') or body}")
        try:
            rows = logql.records(body.get("data", {}))
        except ValueError as exc:
            raise QueryError(f"Loki: {exc}") from exc
        return Answer(rows, query, explore.logql_link(self.grafana, query))

    def _get(self, url: str, params: dict[str, Any]) -> httpx.Response:
        try:
            return self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise QueryError(f"{url} did not answer: {exc} (is the compose stack up?)") from exc

    @staticmethod
    def _json(response: httpx.Response, who: str) -> Any:
        # Tempo and Loki answer errors as plain text with a 4xx/5xx status.
        if response.status_code >= 400:
            raise QueryError(f"{who} answered HTTP {response.status_code}: {response.text.strip()[:300]}")
        try:
            return response.json()
        except ValueError as exc:
            raise QueryError(f"{who} answered something that is not JSON: {response.text[:200]}") from exc
