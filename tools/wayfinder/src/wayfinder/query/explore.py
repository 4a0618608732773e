"""Grafana Explore links: the same question, one click away in the compose stack's Grafana.

Grafana 10 and later (the stack runs 13) read Explore's state from `panes`, a JSON object of
pane id -> {datasource, queries, range}, with `schemaVersion=1`; the datasource uids are the
fixed ones of grafana/provisioning/datasources.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

PROMETHEUS = ("prometheus", "prometheus")  # (type, uid)
TEMPO = ("tempo", "tempo")
LOKI = ("loki", "loki")


def explore_url(
    grafana: str, datasource: tuple[str, str], query: dict[str, Any], since: str = "now-1h"
) -> str:
    kind, uid = datasource
    pane = {
        "datasource": uid,
        "queries": [{"refId": "A", "datasource": {"type": kind, "uid": uid}, **query}],
        "range": {"from": since, "to": "now"},
    }
    panes = json.dumps({"wayfinder": pane}, separators=(",", ":"))
    return f"{grafana.rstrip('/')}/explore?schemaVersion=1&orgId=1&panes={quote(panes, safe='')}"


def promql_link(grafana: str, expr: str) -> str:
    return explore_url(grafana, PROMETHEUS, {"expr": expr, "range": True})


def traceql_link(grafana: str, traceql: str) -> str:
    return explore_url(grafana, TEMPO, {"queryType": "traceql", "query": traceql})


def logql_link(grafana: str, logql: str) -> str:
    return explore_url(grafana, LOKI, {"expr": logql})
