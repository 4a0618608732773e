"""`python -m wayfinder.store`: announces where it listens, stores exports, exits 0 on SIGTERM."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from wayfinder.store import OTLPReceiver, TelemetryStore


def first_line(process: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """The first stdout line, read on a thread so a silent process cannot hang the test."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no start-up line from the store within {timeout}s")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_module_runs_until_signalled_and_keeps_what_it_received(tmp_path: Path, stop_signal: int) -> None:
    db = tmp_path / "telemetry.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "wayfinder.store", "--db", str(db), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = first_line(process)
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, f"start-up line does not say where it listens: {line!r}"
        body = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8}]}]}]}
        response = httpx.post(
            f"{match.group(0)}/v1/traces",
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with TelemetryStore(db) as store:
        assert [s.span_id for s in store.spans()] == ["cd" * 8]


def test_forward_flag_sends_what_it_stores_to_a_second_receiver(
    tmp_path: Path, receiver: OTLPReceiver, store: TelemetryStore, wait_for: Callable[..., object]
) -> None:
    """Local mode passes WAYFINDER_OTLP_FORWARD to the store process as --forward."""
    command = [sys.executable, "-m", "wayfinder.store", "--db", str(tmp_path / "t.db"), "--port", "0"]
    process = subprocess.Popen(
        [*command, "--forward", receiver.endpoint], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first_line(process))
        assert match
        body = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "ef" * 8}]}]}]}
        response = httpx.post(
            f"{match.group(0)}/v1/traces",
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200
        wait_for(store.spans, "the span forwarded to the second receiver")
        assert [s.span_id for s in store.spans()] == ["ef" * 8]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
