"""Prometheus config and alert rules: promtool checks, unit tests for every alert, annotations
a new engineer can act on, runbooks that exist and dashboards that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from stack_sources import DASHBOARDS, ROOT, RULE_TESTS, RULES, alert_rules, compose, dashboards, load_yaml

from tests.support import missing_tool

PROMETHEUS_YML = ROOT / "prometheus" / "prometheus.yml"

# OTLPConfig of Prometheus v3.14 (config/config.go, yaml tags). promtool 2.42 knows none of them.
OTLP_KEYS_3_14 = {
    "promote_all_resource_attributes",
    "promote_resource_attributes",
    "ignore_resource_attributes",
    "translation_strategy",
    "keep_identifying_resource_attributes",
    "convert_histograms_to_nhcb",
    "promote_scope_metadata",
    "label_name_underscore_sanitization",
    "label_name_preserve_multiple_underscores",
}
TRANSLATION_STRATEGIES = {
    "UnderscoreEscapingWithSuffixes",
    "UnderscoreEscapingWithoutSuffixes",
    "NoUTF8EscapingWithSuffixes",
    "NoTranslation",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        missing_tool("promtool is not installed (Debian package `prometheus`; CI installs it)")
    return found


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


def test_promtool_check_config(promtool: str, tmp_path: Path):
    """promtool 2.42 predates Prometheus 3's `otlp:` block: check a copy without it (the block's
    keys are checked against 3.14's own list in the next test). Rule files come along."""
    config = load_yaml(PROMETHEUS_YML)
    assert "otlp" in config
    config.pop("otlp")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    shutil.copytree(RULES, tmp_path / "rules")
    result = run([promtool, "check", "config", str(tmp_path / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(list(RULES.glob('*.yml')))} rule files found" in result.stdout


def test_otlp_block_uses_only_keys_prometheus_3_14_knows():
    otlp = load_yaml(PROMETHEUS_YML)["otlp"]
    assert set(otlp) <= OTLP_KEYS_3_14, set(otlp) - OTLP_KEYS_3_14
    assert (
        otlp.get("translation_strategy", "UnderscoreEscapingWithSuffixes") == "UnderscoreEscapingWithSuffixes"
    )
    assert set(otlp["promote_resource_attributes"]) >= {
        "service.name",
        "service.version",
        "deployment.environment.name",
    }


def test_storage_and_flags_for_otlp_exemplars_and_remote_write():
    config = load_yaml(PROMETHEUS_YML)
    assert config["storage"]["tsdb"]["out_of_order_time_window"]
    flags = compose()["services"]["prometheus"]["command"]
    for flag in (
        "--web.enable-otlp-receiver",
        "--web.enable-remote-write-receiver",
        "--enable-feature=exemplar-storage",
    ):
        assert flag in flags


def test_prometheus_scrapes_the_collector_self_metrics():
    targets = {
        job["job_name"]: [t for s in job["static_configs"] for t in s["targets"]]
        for job in load_yaml(PROMETHEUS_YML)["scrape_configs"]
    }
    collector = load_yaml(ROOT / "collector" / "config.yaml")
    (reader,) = collector["service"]["telemetry"]["metrics"]["readers"]
    port = reader["pull"]["exporter"]["prometheus"]["port"]
    assert targets["otel-collector"] == [f"otel-collector:{port}"]


def test_promtool_check_rules(promtool: str):
    result = run([promtool, "check", "rules", *map(str, sorted(RULES.glob("*.yml")))])
    assert result.returncode == 0, result.stdout + result.stderr


# What Prometheus 3 renders {{ $externalLabels.grafana_url }} as with the default GRAFANA_PORT:
# prometheus.yml's external label grafana_url = ${GRAFANA_URL}, which docker-compose.yml sets.
# promtool 2.42 rejects `external_labels` in a unit-test file (added to promtool later), so the
# rule tests run on a copy of the rules with the label's value put in its place; the rule test
# files expect the full links a browser opens.
DEFAULT_GRAFANA_URL = "http://127.0.0.1:3000"
GRAFANA_URL_TEMPLATE = "{{ $externalLabels.grafana_url }}"


def rules_as_rendered(target: Path, grafana_url: str = DEFAULT_GRAFANA_URL) -> None:
    """rules/ and tests/ copied under target, external label grafana_url substituted."""
    shutil.copytree(RULE_TESTS, target / "tests")
    (target / "rules").mkdir()
    for path in RULES.glob("*.yml"):
        (target / "rules" / path.name).write_text(path.read_text().replace(GRAFANA_URL_TEMPLATE, grafana_url))


def test_promtool_test_rules(promtool: str, tmp_path: Path):
    rules_as_rendered(tmp_path)
    tests = sorted((tmp_path / "tests").glob("*.yml"))
    assert tests
    result = run([promtool, "test", "rules", *map(str, tests)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_links_follow_the_published_grafana_port(promtool: str, tmp_path: Path):
    """The same tests with Grafana published elsewhere: every expected dashboard_url is now wrong."""
    rules_as_rendered(tmp_path, "http://127.0.0.1:3999")
    result = run([promtool, "test", "rules", "telemetry-pipeline_test.yml"], cwd=tmp_path / "tests")
    assert result.returncode != 0
    assert "http://127.0.0.1:3999/d/wayfinder-telemetry-pipeline" in result.stdout + result.stderr


def test_every_dashboard_url_starts_at_the_configured_grafana():
    for _, rule in alert_rules():
        assert rule["annotations"]["dashboard_url"].startswith(GRAFANA_URL_TEMPLATE + "/d/"), rule["alert"]
    assert load_yaml(PROMETHEUS_YML)["global"]["external_labels"]["grafana_url"] == "${GRAFANA_URL}"
    prometheus = compose()["services"]["prometheus"]
    assert prometheus["environment"]["GRAFANA_URL"] == "http://127.0.0.1:${GRAFANA_PORT:-3000}"
    assert "127.0.0.1:${GRAFANA_PORT:-3000}:3000" in compose()["services"]["grafana"]["ports"]
    assert "--web.external-url=http://127.0.0.1:${PROMETHEUS_PORT:-9090}" in prometheus["command"]


def test_promtool_test_rules_can_fail(promtool: str, tmp_path: Path):
    """The same tests against a rule whose threshold moved: they must catch it."""
    rules_as_rendered(tmp_path)
    rule = tmp_path / "rules" / "checkout.yml"
    rule.write_text(rule.read_text().replace(") > 1\n", ") > 5\n", 1))
    result = run([promtool, "test", "rules", "checkout_test.yml"], cwd=tmp_path / "tests")
    assert result.returncode != 0


def _alert_tests() -> dict[str, dict[str, int]]:
    """alertname -> how many evaluations expect it firing / quiet, over all rule test files."""
    seen: dict[str, dict[str, int]] = {}
    for path in RULE_TESTS.glob("*.yml"):
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                counts = seen.setdefault(check["alertname"], {"firing": 0, "quiet": 0})
                counts["firing" if check.get("exp_alerts") else "quiet"] += 1
    return seen


@pytest.mark.parametrize("alert", [rule["alert"] for _, rule in alert_rules()])
def test_every_alert_has_a_firing_and_a_quiet_unit_test(alert: str):
    counts = _alert_tests().get(alert, {"firing": 0, "quiet": 0})
    assert counts["firing"] >= 1, f"{alert}: no test expects it to fire"
    assert counts["quiet"] >= 1, f"{alert}: no test expects it to stay quiet"


def test_every_rule_file_is_unit_tested():
    tested = set()
    for path in RULE_TESTS.glob("*.yml"):
        tested |= {(path.parent / f).resolve() for f in load_yaml(path)["rule_files"]}
    assert {p.resolve() for p in RULES.glob("*.yml")} <= tested


@pytest.mark.parametrize(
    ("path", "rule"), alert_rules(), ids=lambda v: v["alert"] if isinstance(v, dict) else v.name
)
def test_alert_annotations_lead_somewhere(path: Path, rule: dict):
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url", "dashboard_url"):
        assert annotations.get(key), f"{rule['alert']}: no {key}"
    assert len(annotations["description"]) > 120, f"{rule['alert']}: describe what to do, not only what fired"
    assert rule.get("labels", {}).get("severity") in {"page", "ticket"}
    runbook = ROOT / annotations["runbook_url"]
    assert runbook.is_file(), f"{rule['alert']}: {annotations['runbook_url']} does not exist"
    assert runbook.read_text().startswith(f"# {rule['alert']}\n")
    uid = re.search(r"/d/([^/?]+)", annotations["dashboard_url"])
    uids = {board["uid"] for board in dashboards(DASHBOARDS).values()}
    assert uid and uid.group(1) in uids, f"{rule['alert']}: dashboard_url names no provisioned dashboard"


def test_every_runbook_belongs_to_an_alert():
    runbooks = {p.name for p in (ROOT / "docs" / "runbooks").glob("*.md")}
    linked = {Path(rule["annotations"]["runbook_url"]).name for _, rule in alert_rules()}
    assert runbooks == linked
