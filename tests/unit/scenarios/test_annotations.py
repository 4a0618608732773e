"""A run's timeline as Grafana annotations: exact requests to a fake Grafana over real HTTP, once each."""

from __future__ import annotations

import argparse
import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from wayfinder.local.config import LocalConfig
from wayfinder.scenarios import annotations, cli
from wayfinder.scenarios.annotations import publish, publish_quietly
from wayfinder.scenarios.control import FaultControl
from wayfinder.scenarios.model import LoadProfile
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.run import RunSpec, TimelineEntry, write_spec
from wayfinder_common.faultstate import write_sealed

STARTED = 1_790_000_000.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGrafana:
    """Answers POST /api/annotations like Grafana does (an id), or with `status` when set."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            fake.requests.append(Recorded("POST", self.path, dict(self.headers), body))
            answer = json.dumps({"id": len(fake.requests), "message": "Annotation added"}).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _entry(t_s: float, what: str, **detail: Any) -> dict[str, Any]:
    return TimelineEntry(at=STARTED + t_s, t_s=t_s, what=what, detail=detail).model_dump()


ENTRIES = [
    _entry(0.0, "run started", seed=7, speed=10.0),
    _entry(6.0, "fault on", hook="provider.rate_limit", scope="eu-west", params={"rate_per_s": 4.5}),
    _entry(30.25, "fault off", hook="provider.rate_limit", scope="eu-west"),
    _entry(31.0, "restart inventory", version="0.2.0", sampler=None),
]


def _run(home: Path, entries: list[dict[str, Any]], started_at: float = STARTED) -> tuple[StatePaths, str]:
    """A run's sealed spec and timeline, as `scenario start` and the runner leave them."""
    paths = StatePaths(home)
    token = FaultControl(paths).token
    spec = RunSpec(
        scenario="provider-rate-limit-eu-west",
        seed=7,
        speed=10.0,
        started_at=started_at,
        duration_s=60.0,
        plan=[],
        load=LoadProfile(rate_per_s=5, duration_s=60),
        local_config={},
    )
    write_spec(paths, token, spec)
    write_sealed(paths.timeline, token, {"entries": entries})
    return paths, token


def _expected(entry: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "time": round(entry["at"] * 1000),
        "tags": ["wayfinder", "scenario", "provider-rate-limit-eu-west"],
        "text": f"provider-rate-limit-eu-west: {text}",
    }


def test_one_annotation_per_switch_with_its_time_text_and_tags(tmp_path: Path, grafana: FakeGrafana):
    paths, token = _run(tmp_path, ENTRIES)
    assert publish(paths, token, grafana.url) == 4
    assert [(r.method, r.path) for r in grafana.requests] == [("POST", "/api/annotations")] * 4
    assert [r.body for r in grafana.requests] == [
        _expected(ENTRIES[0], "run started seed=7 speed=10.0"),
        _expected(ENTRIES[1], "fault on provider.rate_limit [eu-west] rate_per_s=4.5"),
        _expected(ENTRIES[2], "fault off provider.rate_limit [eu-west]"),
        _expected(ENTRIES[3], "restart inventory version=0.2.0"),
    ]
    assert grafana.requests[1].body["time"] == 1_790_000_006_000
    for request in grafana.requests:
        assert request.headers["Content-Type"] == "application/json"
        assert "Authorization" not in request.headers  # the stack's anonymous Editor


def test_each_switch_is_written_once_across_a_reveal_and_a_stop(tmp_path: Path, grafana: FakeGrafana):
    paths, token = _run(tmp_path, ENTRIES[:2])
    assert publish(paths, token, grafana.url) == 2  # revealed mid-run
    write_sealed(paths.timeline, token, {"entries": ENTRIES})
    assert publish(paths, token, grafana.url) == 2  # stopped: only the two later switches
    assert publish(paths, token, grafana.url) == 0
    assert [r.body["time"] for r in grafana.requests] == [round(e["at"] * 1000) for e in ENTRIES]


def test_a_new_run_is_annotated_from_its_first_switch(tmp_path: Path, grafana: FakeGrafana):
    paths, token = _run(tmp_path, ENTRIES)
    assert publish(paths, token, grafana.url) == 4
    later = [_entry(500.0, "run started", seed=8, speed=10.0)]
    paths, token = _run(tmp_path, later, started_at=STARTED + 500)
    assert publish(paths, token, grafana.url) == 1
    assert grafana.requests[-1].body["text"] == "provider-rate-limit-eu-west: run started seed=8 speed=10.0"


def _compose_mode(monkeypatch: pytest.MonkeyPatch, home: Path, grafana_port: int) -> LocalConfig:
    monkeypatch.setenv("WAYFINDER_HOME", str(home))
    monkeypatch.setenv("GRAFANA_PORT", str(grafana_port))
    monkeypatch.chdir(home)  # no .env here: the shell's GRAFANA_PORT decides
    home.mkdir(parents=True, exist_ok=True)
    (home / "mode").write_text("compose")
    return LocalConfig()


def test_compose_mode_writes_to_the_published_grafana(
    tmp_path: Path, grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
):
    config = _compose_mode(monkeypatch, tmp_path, int(grafana.url.rsplit(":", 1)[1]))
    assert annotations.grafana_url(config) == grafana.url
    paths, token = _run(tmp_path, ENTRIES)
    out = io.StringIO()
    publish_quietly(paths, token, config, out=out)
    assert len(grafana.requests) == 4 and out.getvalue() == ""


def test_local_mode_keeps_the_timeline_file_only_and_says_nothing(
    tmp_path: Path, grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
):
    config = _compose_mode(monkeypatch, tmp_path, int(grafana.url.rsplit(":", 1)[1]))
    (tmp_path / "mode").write_text("local")
    paths, token = _run(tmp_path, ENTRIES)
    out = io.StringIO()
    publish_quietly(paths, token, config, out=out)
    assert grafana.requests == [] and out.getvalue() == ""
    assert paths.timeline.exists() and not paths.annotated.exists()


def test_a_grafana_error_is_one_warning_and_the_switches_are_retried(
    tmp_path: Path, grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
):
    config = _compose_mode(monkeypatch, tmp_path, int(grafana.url.rsplit(":", 1)[1]))
    paths, token = _run(tmp_path, ENTRIES)
    grafana.status = 500
    out = io.StringIO()
    publish_quietly(paths, token, config, out=out)
    assert len(grafana.requests) == 1  # stops at the first refusal
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "HTTP 500" in lines[0]
    grafana.status = 200
    publish_quietly(paths, token, config, out=out)
    assert [r.body["time"] for r in grafana.requests[1:]] == [round(e["at"] * 1000) for e in ENTRIES]


def test_scenario_stop_survives_a_grafana_outage_with_one_warning_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    _compose_mode(monkeypatch, tmp_path, _closed_port())
    _run(tmp_path, ENTRIES)  # a run that ended on its own while Grafana was down
    assert cli.cmd_stop(argparse.Namespace()) == 0
    captured = capsys.readouterr()
    warnings = captured.err.splitlines()
    assert len(warnings) == 1 and "did not reach Grafana" in warnings[0] and "ConnectError" in warnings[0]
    assert "every fault is off" in captured.out
