"""Every stack config parses and says what it wires; Tempo and Loki are set up for the links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from stack_sources import ROOT, compose, load_yaml

STACK_DIRS = ("collector", "tempo", "loki", "prometheus", "grafana", "telemetry")
YAML_FILES = sorted(
    [ROOT / "docker-compose.yml"]
    + [p for d in STACK_DIRS for p in (ROOT / d).rglob("*") if p.suffix in {".yml", ".yaml"}]
)
JSON_FILES = sorted(p for d in STACK_DIRS for p in (ROOT / d).rglob("*.json"))


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", YAML_FILES, ids=_id)
def test_yaml_parses_and_opens_with_a_header_comment(path: Path):
    assert yaml.safe_load(path.read_text(encoding="utf-8")) is not None
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    assert first.startswith("# "), f"{_id(path)}: open with a comment saying what it wires to what"


@pytest.mark.parametrize("path", JSON_FILES, ids=_id)
def test_json_parses(path: Path):
    assert json.loads(path.read_text(encoding="utf-8"))


def test_the_stack_has_config_files_to_check():
    assert len(YAML_FILES) >= 12 and len(JSON_FILES) >= 6


TEMPO = ROOT / "tempo" / "tempo.yaml"
LOKI = ROOT / "loki" / "loki.yaml"


def test_tempo_generates_span_metrics_service_graphs_and_local_blocks():
    config = load_yaml(TEMPO)
    processors = config["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert set(processors) == {"service-graphs", "span-metrics", "local-blocks"}
    (remote_write,) = config["metrics_generator"]["storage"]["remote_write"]
    assert remote_write["url"] == "http://prometheus:9090/api/v1/write"
    assert remote_write["send_exemplars"] is True
    assert config["metrics_generator"]["processor"]["local_blocks"]["flush_to_storage"] is True


def test_tempo_is_pinned_below_3_because_local_blocks_needs_it():
    dockerfile = (ROOT / "tempo" / "Dockerfile").read_text()
    assert "FROM grafana/tempo:2." in dockerfile


def test_tempo_serves_grafana_on_the_datasource_port():
    port = load_yaml(TEMPO)["server"]["http_listen_port"]
    assert f":{port}/ready" in " ".join(compose()["services"]["tempo"]["healthcheck"]["test"])
    assert (
        f"tempo:{port}"
        in (ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text()
    )


def test_loki_takes_otlp_with_structured_metadata_on_tsdb_v13():
    config = load_yaml(LOKI)
    schema = config["schema_config"]["configs"][-1]
    assert (schema["store"], schema["schema"], schema["object_store"]) == ("tsdb", "v13", "filesystem")
    assert config["limits_config"]["allow_structured_metadata"] is True
    assert config["auth_enabled"] is False
    assert config["server"]["http_listen_port"] == 3100
    assert config["common"]["replication_factor"] == 1


def test_backends_run_the_files_checked_here():
    services = compose()["services"]
    mounts = {
        "otel-collector": ("./collector/config.yaml", ""),
        "tempo": ("./tempo/tempo.yaml", ""),
        "loki": ("./loki/loki.yaml", ""),
        "prometheus": ("./prometheus", "/prometheus.yml"),
    }
    for service, (source, inside) in mounts.items():
        volumes = dict(v.split(":")[:2] for v in services[service]["volumes"])
        assert source in volumes, f"{service} does not mount {source}"
        assert (ROOT / source).exists()
        config_path = volumes[source] + inside
        assert any(arg.endswith("=" + config_path) for arg in services[service]["command"]), (
            f"{service} does not start with {config_path}"
        )
