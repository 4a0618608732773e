"""Grafana provisioning: fixed datasource uids, every link between the signals, dashboards that
reference only existing datasources, unique uids, and a Home that leads everywhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
from stack_sources import (
    DASHBOARDS,
    DATASOURCES,
    ROOT,
    compose,
    dashboards,
    datasource_uids_referenced,
    load_yaml,
    panels,
)

UIDS = {"prometheus", "tempo", "loki"}


def _datasources() -> dict[str, dict[str, Any]]:
    return {source["uid"]: source for source in load_yaml(DATASOURCES)["datasources"]}


def test_datasources_have_fixed_uids_and_point_at_the_compose_services():
    sources = _datasources()
    assert set(sources) == UIDS
    services = compose()["services"]
    for uid, source in sources.items():
        assert source["type"] == uid
        host = re.match(r"http://([a-z-]+):\d+$", source["url"])
        assert host and host.group(1) in services
    assert sources["prometheus"].get("isDefault") is True


def test_every_datasource_link_targets_an_existing_uid():
    referenced = set(datasource_uids_referenced(load_yaml(DATASOURCES)))
    assert referenced and referenced <= UIDS


def test_prometheus_exemplars_open_tempo():
    destinations = _datasources()["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert {"name": "trace_id", "datasourceUid": "tempo"}.items() <= destinations[0].items()


def test_tempo_links_to_logs_with_the_trace_id_and_a_time_shift():
    logs = _datasources()["tempo"]["jsonData"]["tracesToLogsV2"]
    assert logs["datasourceUid"] == "loki"
    assert logs["customQuery"] is True
    assert "trace_id" in logs["query"] and "__trace.traceId" in logs["query"]
    assert {"key": "service.name", "value": "service_name"} in logs["tags"]
    assert logs["spanStartTimeShift"].startswith("-") and logs["spanEndTimeShift"][0].isdigit()


def test_tempo_links_to_metrics_service_map_node_graph_and_loki_search():
    json_data = _datasources()["tempo"]["jsonData"]
    metrics = json_data["tracesToMetrics"]
    assert metrics["datasourceUid"] == "prometheus"
    assert {"key": "service.name", "value": "service_name"} in metrics["tags"]
    assert any("checkout_request_duration_seconds_bucket" in q["query"] for q in metrics["queries"])
    assert all("$$__tags" in q["query"] for q in metrics["queries"])
    assert json_data["serviceMap"]["datasourceUid"] == "prometheus"
    assert json_data["nodeGraph"]["enabled"] is True
    assert json_data["lokiSearch"]["datasourceUid"] == "loki"


def test_loki_trace_ids_open_tempo():
    (field,) = _datasources()["loki"]["jsonData"]["derivedFields"]
    assert field["matcherType"] == "label"
    assert field["matcherRegex"] == "trace_id"
    assert field["datasourceUid"] == "tempo"


def test_provisioning_files_are_mounted_where_grafana_reads_them():
    grafana = compose()["services"]["grafana"]
    volumes = {v.split(":")[0]: v.split(":")[1] for v in grafana["volumes"]}
    assert volumes["./grafana/provisioning"] == "/etc/grafana/provisioning"
    (provider,) = load_yaml(ROOT / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml")["providers"]
    assert volumes["./grafana/dashboards"] == provider["options"]["path"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    assert (DASHBOARDS / home.rsplit("/", 1)[1]).is_file()


BOARDS = dashboards()


def test_dashboard_uids_are_unique_and_fixed():
    uids = [board["uid"] for board in BOARDS.values()]
    assert len(uids) == len(set(uids)) == 5
    assert all(uid.startswith("wayfinder-") for uid in uids)


@pytest.mark.parametrize("path", list(BOARDS), ids=lambda p: p.name)
def test_dashboard_is_self_describing_and_uses_only_provisioned_datasources(path):
    board = BOARDS[path]
    assert len(board.get("description", "")) > 40, "JSON has no comments: the description is the header"
    assert "wayfinder" in board["tags"]
    assert set(datasource_uids_referenced(board)) <= UIDS
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        if panel["type"] not in {"row", "text", "dashlist"}:
            assert panel.get("description"), f"{path.name}: panel {panel['title']!r} has no description"


def test_latency_panels_show_exemplars():
    exemplar_exprs = [
        target["expr"]
        for board in BOARDS.values()
        for panel in panels(board)
        for target in panel.get("targets", [])
        if target.get("exemplar")
    ]
    for histogram in (
        "checkout_request_duration_seconds_bucket",
        "payment_provider_request_duration_seconds_bucket",
        "invoice_job_lag_seconds_bucket",
    ):
        assert any(histogram in expr for expr in exemplar_exprs), f"no exemplars on {histogram}"


def test_home_links_to_every_dashboard_and_tells_the_walkthrough():
    home = next(board for board in BOARDS.values() if board["uid"] == "wayfinder-home")
    text = "\n".join(p["options"]["content"] for p in panels(home) if p["type"] == "text")
    for board in BOARDS.values():
        if board is not home:
            assert f"/d/{board['uid']}/" in text, f"Home does not link to {board['title']}"
    for step in ("Alert", "Panel", "Exemplar", "Trace", "Span attributes", "Logs", "Region breakdown"):
        assert f"**{step}.**" in text


def test_checkout_overview_has_rate_errors_p95_by_route_and_region():
    board = next(board for board in BOARDS.values() if board["uid"] == "wayfinder-checkout")
    exprs = " ".join(t.get("expr", "") for p in panels(board) for t in p.get("targets", []))
    assert "sum by (le, http_route, region)" in exprs
    assert "checkout_outcome" in exprs
    assert any(v["name"] == "region" for v in board["templating"]["list"])


# Which basic roles hold `datasources:explore` (grafana/grafana pkg/api/accesscontrol.go: the
# fixed:datasources:explorer role is granted to Editor, to Viewer only when viewers_can_edit is
# on; Admin inherits Editor's grants). Grafana hides every Explore link from anyone without it.
def anonymous_can_explore(env: dict[str, str]) -> bool:
    if str(env.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() != "true":
        return False
    role = env.get("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer")
    viewers_explore = str(env.get("GF_USERS_VIEWERS_CAN_EDIT", "false")).lower() == "true"
    return role in {"Editor", "Admin"} or (role == "Viewer" and viewers_explore)


def _explore_links() -> list[str]:
    """Every provisioned link that opens Explore (all the links between the signals do)."""
    sources = _datasources()
    links = [
        f"prometheus exemplar -> {d['datasourceUid']}"
        for d in sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    ]
    tempo = sources["tempo"]["jsonData"]
    links += ["tempo -> logs " + tempo["tracesToLogsV2"]["datasourceUid"]]
    links += ["tempo -> metrics " + q["name"] for q in tempo["tracesToMetrics"]["queries"]]
    links += [
        "loki derived field -> " + f["datasourceUid"] for f in sources["loki"]["jsonData"]["derivedFields"]
    ]
    return links


def test_the_anonymous_user_can_follow_every_provisioned_link():
    assert len(_explore_links()) >= 5
    env = compose()["services"]["grafana"]["environment"]
    assert anonymous_can_explore(env), "anonymous users would not see exemplar, trace and log links"
    # Either deprecated setting alone grants Explore in 13.1; both keep it if one is removed.
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Editor"
    assert env["GF_USERS_VIEWERS_CAN_EDIT"] == "true"
    # Anonymous editing is acceptable only because nobody off this host can reach Grafana.
    assert compose()["services"]["grafana"]["ports"] == ["127.0.0.1:${GRAFANA_PORT:-3000}:3000"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GF_AUTH_ANONYMOUS_ENABLED": "true", "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer"}, False),
        ({"GF_AUTH_ANONYMOUS_ENABLED": "true"}, False),
        ({"GF_AUTH_ANONYMOUS_ENABLED": "true", "GF_USERS_VIEWERS_CAN_EDIT": "true"}, True),
        ({"GF_AUTH_ANONYMOUS_ENABLED": "true", "GF_AUTH_ANONYMOUS_ORG_ROLE": "Editor"}, True),
        ({"GF_AUTH_ANONYMOUS_ENABLED": "false", "GF_AUTH_ANONYMOUS_ORG_ROLE": "Editor"}, False),
    ],
)
def test_the_explore_check_tells_viewer_from_editor(env: dict[str, str], expected: bool):
    assert anonymous_can_explore(env) is expected


def test_grafana_builds_its_own_links_on_the_published_port():
    env = compose()["services"]["grafana"]["environment"]
    assert env["GF_SERVER_ROOT_URL"] == "http://127.0.0.1:${GRAFANA_PORT:-3000}/"
