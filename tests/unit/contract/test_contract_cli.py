"""`wayfinder telemetry check|docs` on tiny stores and capture files written by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from contract_builders import REGISTRY, Capture, good_checkout, span
from wayfinder.cli import main
from wayfinder.store.db import TelemetryStore


def _store(path: Path | str, capture: Capture) -> TelemetryStore:
    store = TelemetryStore(path)
    store.add_spans(capture.spans)
    store.add_logs(capture.logs)
    store.add_metric_points(capture.points)
    return store


def _capture_file(tmp_path: Path, capture: Capture) -> Path:
    target = tmp_path / "capture.jsonl"
    with _store(":memory:", capture) as store:
        store.dump_capture(target)
    return target


def _bad() -> Capture:
    return good_checkout() + Capture(
        [span("GET /orders/42", kind="SERVER", attributes={"user.email": "a@b.io"})]
    )


def test_a_clean_capture_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = _capture_file(tmp_path, good_checkout())
    assert main(["telemetry", "check", "--capture", str(capture), "--registry", str(REGISTRY)]) == 0
    assert "OK, no violations" in capsys.readouterr().out


def test_violations_exit_1_with_a_report_grouped_by_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _capture_file(tmp_path, _bad())
    assert main(["telemetry", "check", "--capture", str(capture), "--registry", str(REGISTRY)]) == 1
    out = capsys.readouterr().out
    assert (
        "[span.name.high_cardinality]" in out and "[pii.email]" in out and "[attribute.unregistered]" in out
    )
    assert "checkout-api span 'GET /orders/{id}'" in out
    assert "a@b.io" not in out


def test_json_report_from_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "telemetry.db"
    _store(db, _bad()).close()
    code = main(
        [
            "telemetry",
            "check",
            "--db",
            str(db),
            "--registry",
            str(REGISTRY),
            "--json",
            "--window-minutes",
            "30",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False and report["checked"]["spans"] == 10
    violation = report["rules"]["attribute.unregistered"]["violations"][0]
    assert violation["service"] == "checkout-api" and violation["attribute"] == "user.email"


@pytest.mark.parametrize(
    ("source", "registry"),
    [
        (["--capture", "/nonexistent/capture.jsonl"], REGISTRY),
        (["--db", "/nonexistent/telemetry.db"], REGISTRY),
        (["--capture", str(REGISTRY / "registry_manifest.yaml")], REGISTRY),  # not a capture file
        (None, Path("/nonexistent/registry")),
    ],
)
def test_usage_and_io_errors_exit_2(source: list[str] | None, registry: Path, tmp_path: Path) -> None:
    source = source or ["--capture", str(_capture_file(tmp_path, good_checkout()))]
    assert main(["telemetry", "check", *source, "--registry", str(registry)]) == 2


def test_bad_window_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["telemetry", "check", "--window-minutes", "0"])
    assert exited.value.code == 2


def test_docs_writes_then_check_passes_and_catches_staleness(tmp_path: Path) -> None:
    target = tmp_path / "telemetry.md"
    base = ["telemetry", "docs", "--registry", str(REGISTRY), "--output", str(target)]
    assert main([*base, "--check"]) == 1  # missing counts as stale
    assert main(base) == 0
    assert main([*base, "--check"]) == 0
    target.write_text(target.read_text().replace("`order.id`", "`orderId`", 1))
    assert main([*base, "--check"]) == 1
