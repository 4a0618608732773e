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


def _hours(value: str) -> float:
    """A Go/Prometheus duration made of d and h parts (72h, 3d, 2d12h) in hours."""
    import re

    parts = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?", value)
    assert parts and value, f"not a d/h duration: {value!r}"
    return int(parts.group(1) or 0) * 24 + int(parts.group(2) or 0)


def test_traces_logs_and_metrics_are_kept_equally_long():
    """Exemplars (Prometheus) and log lines (Loki) link to traces (Tempo): none may outlive them."""
    flags = compose()["services"]["prometheus"]["command"]
    (prometheus,) = [f.split("=", 1)[1] for f in flags if f.startswith("--storage.tsdb.retention.time=")]
    tempo = load_yaml(TEMPO)["compactor"]["compaction"]["block_retention"]
    loki = load_yaml(LOKI)["limits_config"]["retention_period"]
    assert load_yaml(LOKI)["compactor"]["retention_enabled"] is True
    assert _hours(prometheus) == _hours(tempo) == _hours(loki)


def test_tempo_keeps_its_data_in_a_volume_at_the_path_the_image_owns():
    """grafana/tempo 2.10.7 creates /var/tempo owned by uid 10001 (cmd/tempo/Dockerfile); a named
    volume mounted there starts with that owner. Every path Tempo writes must be inside it."""
    document = compose()
    volumes = document["services"]["tempo"]["volumes"]
    named = [v for v in volumes if v.split(":")[1] == "/var/tempo"]
    assert named and named[0].split(":")[0] in document["volumes"]
    config = load_yaml(TEMPO)
    paths = [
        config["storage"]["trace"]["wal"]["path"],
        config["storage"]["trace"]["local"]["path"],
        config["metrics_generator"]["storage"]["path"],
        config["metrics_generator"]["traces_storage"]["path"],
    ]
    assert all(path.startswith("/var/tempo/") for path in paths), paths


def test_tempo_live_traces_are_bounded_below_its_memory_limit():
    from stack_sources import memory_bytes

    limit = memory_bytes(compose()["services"]["tempo"]["deploy"]["resources"]["limits"]["memory"])
    local_blocks = load_yaml(TEMPO)["metrics_generator"]["processor"]["local_blocks"]
    # Tempo 2.10's default is 250_000_000 (localblocks/config.go): stated here, and a fraction of the limit.
    assert 0 < local_blocks["max_live_traces_bytes"] <= limit // 4


# Loki 3.7 turns these on with 100 MB each when they are not configured
# (pkg/loki/config_wrapper.go applyEmbeddedCacheConfig): every one is stated here.
LOKI_RESULT_CACHES = (
    "results_cache",
    "index_stats_results_cache",
    "volume_results_cache",
    "series_results_cache",
    "label_results_cache",
    "instant_metric_results_cache",
)


def loki_cache_megabytes(config: dict) -> int:
    """Worst-case embedded cache size in MB; raises KeyError for a cache left to its default."""
    total = config["chunk_store_config"]["chunk_cache_config"]["embedded_cache"]["max_size_mb"]
    for name in LOKI_RESULT_CACHES:
        total += config["query_range"][name]["cache"]["embedded_cache"]["max_size_mb"]
    return total


def test_loki_caches_are_bounded_below_its_memory_limit():
    from stack_sources import memory_bytes

    limit = memory_bytes(compose()["services"]["loki"]["deploy"]["resources"]["limits"]["memory"])
    assert loki_cache_megabytes(load_yaml(LOKI)) * 1024**2 <= limit // 3


def test_a_loki_cache_left_to_its_default_is_caught():
    config = load_yaml(LOKI)
    del config["query_range"]["volume_results_cache"]
    with pytest.raises(KeyError):
        loki_cache_megabytes(config)
