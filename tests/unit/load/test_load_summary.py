"""The end summary of `wayfinder load`: percentiles from Locust's histogram, failures by code, text."""

from __future__ import annotations

import io

import pytest
from wayfinder.load.cli import Progress
from wayfinder.load.summary import percentile, progress_line, render, summarize

FINAL = {
    "event": "final",
    "elapsed_s": 10.0,
    "users": 2,
    "requests": 100,
    "failures": 7,
    "failures_by_code": {"payment_unavailable": 2, "http_500": 1, "connection_error": 4},
    # Locust's histogram: rounded response time (ms, as a JSON key) -> how many requests.
    "response_times": {"900": 1, "10": 50, "100": 4, "20": 45},
    "by_request": {"GET /products": {"requests": 60, "failures": 0}},
    "journey_errors": 0,
}


def test_percentiles_come_from_the_histogram() -> None:
    histogram = {10: 50, 20: 45, 100: 4, 900: 1}
    assert [percentile(histogram, f) for f in (0.5, 0.95, 0.99, 1.0)] == [10, 20, 100, 900]
    assert percentile({42: 1}, 0.5) == 42
    assert percentile({}, 0.95) is None


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.9, 0.999])
def test_a_percentile_covers_at_least_its_share(fraction: float) -> None:
    histogram = {5: 3, 7: 11, 300: 2, 12: 9}
    value = percentile(histogram, fraction)
    assert value is not None
    covered = sum(n for ms, n in histogram.items() if ms <= value)
    below = sum(n for ms, n in histogram.items() if ms < value)
    assert covered >= fraction * 25 > below


def test_summary_counts_failures_by_code_and_orders_the_percentiles() -> None:
    summary = summarize(FINAL, "http://127.0.0.1:8080")
    assert summary["requests"] == 100 and summary["failures"] == 7 and summary["requests_per_s"] == 10.0
    assert list(summary["failures_by_code"].items()) == [
        ("connection_error", 4),
        ("payment_unavailable", 2),
        ("http_500", 1),
    ]
    assert summary["latency_ms"] == {"p50": 10, "p95": 20, "p99": 100}
    assert summary["target"] == "http://127.0.0.1:8080" and summary["users"] == 2


def test_a_run_without_requests_has_no_percentiles() -> None:
    empty = {**FINAL, "requests": 0, "failures": 0, "failures_by_code": {}, "response_times": {}}
    summary = summarize(empty, "http://h")
    assert summary["latency_ms"] == {"p50": None, "p95": None, "p99": None}
    assert "failures  0" in render(summary) and "p95 -" in render(summary)


def test_rendered_summary_names_codes_and_percentiles() -> None:
    text = render(summarize(FINAL, "http://127.0.0.1:8080"))
    assert "100 requests (10/s)" in text
    assert "p50 10 ms   p95 20 ms   p99 100 ms" in text
    assert "failures  7 (7.0%): connection_error 4, payment_unavailable 2, http_500 1" in text
    assert "GET /products" in text


def test_progress_is_one_line_rewritten_on_a_terminal_and_every_ten_seconds_in_a_log() -> None:
    report = {"elapsed_s": 3.0, "users": 2, "requests": 40, "failures": 1, "rps": 13.3, "p95_ms": 250}
    assert progress_line(report, 60) == "[   3/60 s] 2 users  40 requests  1 failures  13.3 req/s  p95 250 ms"

    log = io.StringIO()
    progress = Progress(log, 60)
    for second in range(1, 25):
        progress.show({**report, "elapsed_s": float(second)})
    progress.end()
    assert [line.split("]")[0] for line in log.getvalue().splitlines()] == [
        "[   1/60 s",
        "[  11/60 s",
        "[  21/60 s",
    ]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    progress = Progress(terminal, 60)
    progress.show(report)
    progress.show({**report, "elapsed_s": 4.0})
    progress.end()
    assert terminal.getvalue().count("\r\033[K") == 2 and terminal.getvalue().endswith("p95 250 ms\n")
