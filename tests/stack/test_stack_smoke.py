"""`make stack-smoke` (wayfinder.stack_smoke): its readers against recorded answers in the
documented formats, its skip without an engine, and its place outside `make test`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from stack_sources import ROOT, load_yaml
from wayfinder import compose_mode, stack_smoke

RECORDED = Path(__file__).resolve().parent / "recorded"
TRACE_ID = "43ab2ceea43d712d5bd659c20f13f406"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text())


def test_tempo_trace_by_id_is_read_per_service():
    assert stack_smoke.trace_spans_by_service(recorded("tempo_trace.json")) == {
        "checkout-api": 2,
        "payment": 1,
        "inventory": 1,
    }


def test_tempo_v2_shape_and_an_empty_answer():
    v1 = recorded("tempo_trace.json")
    v2 = {"trace": {"resourceSpans": v1["batches"]}, "status": "COMPLETE"}
    assert stack_smoke.trace_spans_by_service(v2) == stack_smoke.trace_spans_by_service(v1)
    assert stack_smoke.trace_spans_by_service({}) == {}


def test_loki_lines_carry_the_trace_id():
    lines = stack_smoke.loki_lines(recorded("loki_query_range.json"))
    assert len(lines) == 3
    assert {labels["trace_id"] for labels, _ in lines} == {TRACE_ID}
    assert ("payment authorized" in [line for _, line in lines]) is True


def test_loki_matrix_or_error_answers_have_no_lines():
    assert (
        stack_smoke.loki_lines({"status": "success", "data": {"resultType": "matrix", "result": [{}]}}) == []
    )
    assert stack_smoke.loki_lines({"status": "error", "error": "parse error"}) == []


def test_prometheus_vector_values():
    assert stack_smoke.vector_values(recorded("prometheus_query.json")) == [5.0]
    assert (
        stack_smoke.vector_values({"status": "success", "data": {"resultType": "vector", "result": []}}) == []
    )


def test_exemplar_trace_ids_newest_first_in_hex_from_both_label_names():
    ids = stack_smoke.exemplar_trace_ids(recorded("prometheus_exemplars.json"))
    # OTLP exemplars label it trace_id (hex); Tempo's metrics-generator traceID (base64 here).
    assert ids == [TRACE_ID, TRACE_ID, "0f5e1c2d3b4a59687766554433221100"]
    assert stack_smoke.exemplar_trace_ids({"status": "error"}) == []


def test_rule_groups_missing_or_unhealthy_are_reported():
    answer = recorded("prometheus_rules.json")
    problems = stack_smoke.rule_group_problems(
        {"wayfinder-telemetry-pipeline", "wayfinder-checkout", "wayfinder-payment"}, answer
    )
    assert problems == [
        "rule group wayfinder-payment is not loaded",
        "rule CheckoutLatencyHigh in wayfinder-checkout: vector contains metrics with the same labelset "
        "after applying alert labels",
    ]
    assert stack_smoke.rule_group_problems({"wayfinder-telemetry-pipeline"}, answer) == []


def test_expected_rule_groups_are_those_of_the_rule_files():
    groups = stack_smoke.expected_rule_groups()
    on_disk = {
        g["name"] for p in (ROOT / "prometheus" / "rules").glob("*.yml") for g in load_yaml(p)["groups"]
    }
    assert groups == on_disk and "wayfinder-telemetry-pipeline" in groups


def test_grafana_datasource_health():
    assert (
        stack_smoke.datasource_health_problem("prometheus", 200, recorded("grafana_health_ok.json")) is None
    )
    problem = stack_smoke.datasource_health_problem("loki", 400, recorded("grafana_health_error.json"))
    assert problem and "loki" in problem and "ERROR" in problem
    assert stack_smoke.datasource_health_problem("tempo", 401, {"message": "Unauthorized"})
    assert stack_smoke.provisioned_datasource_uids() == ["prometheus", "tempo", "loki"]


def test_base_urls_follow_the_published_ports(tmp_path: Path):
    (tmp_path / ".env").write_text("TEMPO_PORT=13200\nGRAFANA_PORT=13000\n")
    urls = stack_smoke.base_urls(tmp_path, {"LOKI_PORT": "13100"})
    assert urls == {
        "grafana": "http://127.0.0.1:13000",
        "checkout": "http://127.0.0.1:8080",
        "prometheus": "http://127.0.0.1:9090",
        "tempo": "http://127.0.0.1:13200",
        "loki": "http://127.0.0.1:13100",
    }


def test_every_port_the_smoke_uses_is_published_by_compose():
    text = (ROOT / "docker-compose.yml").read_text()
    for variable, default in stack_smoke.PORTS.values():
        assert f'"127.0.0.1:${{{variable}:-{default}}}:{default}"' in text, variable


def test_admin_password_from_env_file_or_generated(tmp_path: Path):
    (tmp_path / ".env").write_text("GRAFANA_ADMIN_PASSWORD=from-the-env-file\n")
    assert stack_smoke.admin_password(tmp_path, {}) == ("from-the-env-file", False)
    (tmp_path / ".env").write_text("GRAFANA_ADMIN_PASSWORD=\n")
    generated, fresh = stack_smoke.admin_password(tmp_path, {})
    assert fresh and len(generated) >= 20
    assert stack_smoke.admin_password(tmp_path, {})[0] != generated


def test_without_an_engine_it_skips_and_exits_zero(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(compose_mode, "engine_available", lambda *a, **k: False)
    started: list[object] = []
    monkeypatch.setattr(compose_mode, "up", lambda *a, **k: started.append(a) or 0)
    out = io.StringIO()
    assert stack_smoke.main([], out=out) == 0
    assert "skipped" in out.getvalue() and "Docker" in out.getvalue()
    assert started == []


def test_make_stack_smoke_runs_the_module_and_is_not_part_of_make_test():
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^stack-smoke:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M)
    assert recipe and "python -m wayfinder.stack_smoke" in recipe.group(1)
    test_line = re.search(r"^test:([^\n#]*)", text, re.M)
    assert test_line and "stack-smoke" not in test_line.group(1)
    test_recipe = re.search(r"^test:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M)
    assert (
        test_recipe
        and "stack_smoke" not in test_recipe.group(1)
        and "stack-smoke" not in test_recipe.group(1)
    )


def test_external_label_from_the_loaded_config():
    answer = recorded("prometheus_status_config.json")
    assert stack_smoke.external_label(answer, "grafana_url") == "http://127.0.0.1:3000"
    assert stack_smoke.external_label(answer, "missing") is None
    assert stack_smoke.external_label({"status": "error"}, "grafana_url") is None


def test_anonymous_explore_permission_is_read_from_grafana():
    assert stack_smoke.has_permission(recorded("grafana_user_permissions_editor.json"), "datasources:explore")
    assert not stack_smoke.has_permission(
        recorded("grafana_user_permissions_viewer.json"), "datasources:explore"
    )
