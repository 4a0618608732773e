"""Local mode's Prometheus: scrapes the telemetry store's /metrics and evaluates prometheus/rules.

Prometheus 2.42 (Debian's package) has no OTLP receiver, so it scrapes the store's OpenMetrics
exposition (wayfinder.store.exposition) rather than taking remote writes: no snappy or
protobuf remote-write encoder to carry, exemplars come along in OpenMetrics, and the store's
health is Prometheus's own `up` series. `honor_labels` keeps the `job` and `instance` the store
writes (from service.namespace/service.name and service.instance.id, as Prometheus 3's OTLP
receiver sets them); series without an instance must not get the store's address instead.

Scrape and evaluation every 5 s, the services' metric export interval in local mode: an alert
condition is seen within about 10 s. The rules' own `for:` (2m, 5m) and `[5m]` windows are
kept as written, so a local alert fires minutes after its cause, as in the compose stack. A
scenario run at training speed points it at prometheus/rules-training instead (`use_rules`, a
SIGHUP reload) for as long as the run lasts.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from wayfinder.local.config import LocalConfig, find_project_root
from wayfinder.local.prerequisites import MissingPrerequisite, prometheus_server
from wayfinder.local.processes import ProcessSpec, ProcessTable
from wayfinder.local.waiting import wait_for

NAME = "prometheus"
SCRAPE_JOB = "telemetry-store"
INTERVAL = "5s"
_HEADER = (
    "# Written by `wayfinder up` (wayfinder.local.prometheus); rewritten on every start.\n"
    "# Local mode's Prometheus: scrapes the telemetry store's OpenMetrics and evaluates the\n"
    "# compose stack's alert rules over it.\n"
)


def rules_dir(root: Path | None = None) -> Path:
    return (root or find_project_root()) / "prometheus" / "rules"


def training_rules_dir(root: Path | None = None) -> Path:
    """The rules at training speed, generated from rules_dir() (wayfinder.scenarios.rulespeed)."""
    return (root or find_project_root()) / "prometheus" / "rules-training"


@dataclass
class LocalPrometheus:
    """One Prometheus process under local mode's state folder, managed through its pid file."""

    config: LocalConfig
    processes: ProcessTable
    rules: Path | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.config.prometheus_port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def folder(self) -> Path:
        return self.config.home / "prometheus"

    @property
    def config_file(self) -> Path:
        return self.folder / "prometheus.yml"

    def settings(self) -> dict[str, object]:
        """The prometheus.yml it runs with, as data."""
        store = f"127.0.0.1:{self.config.store_port}"
        return {
            "global": {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL},
            "rule_files": [str((self.rules or rules_dir()) / "*.yml")],
            "scrape_configs": [
                {
                    "job_name": SCRAPE_JOB,
                    "honor_labels": True,
                    "static_configs": [{"targets": [store]}],
                    # A series the store wrote no instance for gets the target's address from
                    # the scrape; OTLP ingestion leaves it without one: take it off again.
                    "metric_relabel_configs": [
                        {
                            "source_labels": ["instance"],
                            "regex": store.replace(".", r"\."),
                            "target_label": "instance",
                            "replacement": "",
                        }
                    ],
                },
                # Itself, as the compose stack's Prometheus does: a target that stays up beside
                # the store shows that a gap is the telemetry path's, not the monitoring's.
                {"job_name": "prometheus", "static_configs": [{"targets": [self.address]}]},
            ],
        }

    def write_config(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(_HEADER + yaml.safe_dump(self.settings(), sort_keys=False))
        return self.config_file

    def argv(self, binary: Path) -> list[str]:
        return [
            str(binary),
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.folder / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address={self.address}",
            # Exemplars: a latency bucket links to a trace in the store.
            "--enable-feature=exemplar-storage",
        ]

    def start(self, timeout_s: float = 60.0) -> None:
        """Start (or keep) the server and wait until it is ready; MissingPrerequisite if absent."""
        binary = prometheus_server()
        self.write_config()
        running = self.processes.pid(NAME)
        if running is not None:
            # Left running by an earlier `up`: SIGHUP makes it re-read the config (ports may differ).
            os.kill(running, signal.SIGHUP)
        self.processes.start(ProcessSpec(NAME, self.argv(binary), dict(os.environ)))
        wait_for(self.ready, f"Prometheus on port {self.config.prometheus_port}", timeout_s, self.hint)

    @property
    def hint(self) -> str:
        return f"see {self.processes.log_file(NAME)}"

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.processes.stop(NAME)

    def reload(self) -> bool:
        """Rewrite the config and make the running server re-read it; False when none runs."""
        running = self.processes.pid(NAME)
        if running is None:
            return False
        self.write_config()
        os.kill(running, signal.SIGHUP)
        return True

    def rule_files(self) -> set[str] | None:
        """The rule files the server has loaded (its API), or None when it does not answer."""
        try:
            answer = httpx.get(f"{self.url}/api/v1/rules", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return None
        return {group["file"] for group in answer["data"]["groups"]}

    def running(self) -> bool:
        return self.processes.pid(NAME) is not None


def start_for(config: LocalConfig, processes: ProcessTable) -> tuple[bool, str]:
    """Local mode's start-up step: (started, the one line to report) — never fatal.

    Without a Prometheus binary local mode still runs; the line says, once, that alerts are
    unavailable and how to get them.
    """
    prometheus = LocalPrometheus(config, processes)
    try:
        prometheus.start()
    except MissingPrerequisite as exc:
        return False, f"  prometheus       alerts unavailable: {exc}"
    except TimeoutError as exc:
        # Alerts are an extra: the shop and the terminal navigator work without them.
        prometheus.stop()
        return False, f"  prometheus       alerts unavailable: it did not start: {exc}"
    return True, f"  prometheus       {prometheus.url} (alert rules from prometheus/rules)"


def use_rules(config: LocalConfig, processes: ProcessTable, rules: Path) -> bool:
    """Point local mode's running Prometheus at `rules` without a restart; False when none runs."""
    return LocalPrometheus(config, processes, rules).reload()


def status_detail(config: LocalConfig, processes: ProcessTable) -> tuple[bool, bool, str]:
    """(installed, running, detail) for `wayfinder status`: not installed is not a failure."""
    prometheus = LocalPrometheus(config, processes)
    pid = processes.pid(NAME)
    if pid is None:
        try:
            prometheus_server()
        except MissingPrerequisite:
            return False, False, "not installed: alerts unavailable"
        return True, False, "not running"
    return True, True, f"pid {pid}, {prometheus.url} {'ready' if prometheus.ready() else 'NOT ready'}"
