"""Retention: the store prunes to its age and size bounds, whole traces at a time, and keeps
what a drill pinned or holds; a store that cannot keep up answers 503 + Retry-After."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from wayfinder.store import LogRecordRow, OTLPReceiver, SpanRecord, TelemetryStore
from wayfinder.store.retention import (
    NANOS,
    Retention,
    enforce,
    hold,
    parse_duration,
    parse_size,
    pin,
    release,
    used_bytes,
)

NOW = 1_760_000_000 * NANOS
PADDING = "x" * 400  # a realistic span's worth of attribute bytes


def checkout_trace(n: int, start: int) -> list[SpanRecord]:
    """A root span and an async child that starts 30 s later (the invoice job)."""
    trace_id = f"{n:032x}"
    root = f"{n:016x}"

    def span(span_id: str, parent: str | None, offset_s: int) -> SpanRecord:
        return SpanRecord(
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=parent,
            name="checkout.place_order" if parent is None else "invoice.create",
            kind="INTERNAL",
            start_unix_nano=start + offset_s * NANOS,
            end_unix_nano=start + offset_s * NANOS + NANOS // 10,
            status_code="UNSET",
            status_message="",
            service_name="checkout-api",
            attributes={"padding": PADDING},
            resource={"service.name": "checkout-api"},
            scope_name="checkout_api",
        )

    return [span(root, None, 0), span(f"{n + 1:016x}", root, 30)]


def log_of(n: int, time: int) -> LogRecordRow:
    return LogRecordRow(
        time, "INFO", 9, "order placed", f"{n:032x}", f"{n:016x}", "checkout-api", {}, {}, "x"
    )


def fill(store: TelemetryStore, traces: int, first_start: int, step_s: int = 1) -> None:
    for n in range(1, traces + 1):
        start = first_start + n * step_s * NANOS
        store.add_spans(checkout_trace(n * 2, start))
        store.add_logs([log_of(n * 2, start)])


@pytest.fixture
def file_store(tmp_path: Path) -> TelemetryStore:
    store = TelemetryStore(tmp_path / "telemetry.db")
    yield store
    store.close()


def trace_ids(store: TelemetryStore) -> set[str]:
    return {row[0] for row in store.rows("SELECT DISTINCT trace_id FROM spans")}


def test_a_store_over_its_size_bound_prunes_to_it_and_the_newest_traces_survive(
    file_store: TelemetryStore,
) -> None:
    fill(file_store, 3000, NOW - 4000 * NANOS)
    bound = used_bytes(file_store) // 3
    newest = f"{6000:032x}"

    report = enforce(file_store, Retention(max_age_s=0, max_bytes=bound), NOW)

    assert report.removed_traces > 0
    assert not report.over_bound
    assert used_bytes(file_store) <= bound
    assert newest in trace_ids(file_store)
    # Still answers queries, and every trace left is whole (no orphaned async span).
    assert len(file_store.spans(trace_id=newest)) == 2
    counts = file_store.rows("SELECT trace_id, COUNT(*) FROM spans GROUP BY trace_id")
    assert {count for _, count in counts} == {2}
    # The file itself shrank: freed pages went back to the file system.
    assert file_store.scalar("PRAGMA freelist_count") == 0


def test_the_age_bound_removes_whole_old_traces_and_their_logs(file_store: TelemetryStore) -> None:
    fill(file_store, 100, NOW - 200 * NANOS)  # traces start 199 s .. 100 s ago, 1 s apart

    enforce(file_store, Retention(max_age_s=150, max_bytes=0), NOW)

    starts = [row[0] for row in file_store.rows("SELECT MIN(start_unix_nano) FROM spans GROUP BY trace_id")]
    assert starts and min(starts) >= NOW - 150 * NANOS
    assert len(starts) == 51  # 150 s .. 100 s ago
    assert file_store.scalar("SELECT MIN(time_unix_nano) FROM logs") >= NOW - 150 * NANOS
    assert file_store.scalar("SELECT MIN(time_unix_nano) FROM requests") is not None


def test_pinned_traces_and_held_windows_survive_both_bounds(file_store: TelemetryStore) -> None:
    fill(file_store, 200, NOW - 400 * NANOS)
    evidence = f"{2:032x}"  # the oldest trace: a drill's cited evidence
    pin(file_store, evidence, "drill evidence")
    hold(file_store, "drill", NOW - 300 * NANOS)  # the drill began 300 s ago

    report = enforce(file_store, Retention(max_age_s=60, max_bytes=1), NOW)

    assert evidence in trace_ids(file_store)
    starts = file_store.rows(
        "SELECT MIN(start_unix_nano) FROM spans WHERE trace_id != ? GROUP BY trace_id", (evidence,)
    )
    assert min(row[0] for row in starts) >= NOW - 300 * NANOS
    assert report.over_bound and "holds" in report.reason

    release(file_store, "drill")
    report = enforce(file_store, Retention(max_age_s=60, max_bytes=0), NOW)
    assert evidence in trace_ids(file_store)
    assert not report.over_bound


def test_an_export_the_store_cannot_take_in_time_gets_503_with_retry_after(store: TelemetryStore) -> None:
    with OTLPReceiver(store, port=0, ingest_wait_s=0.2) as receiver:
        release_store = threading.Event()
        taken = threading.Event()

        def keep_store_busy() -> None:
            with store._lock:  # a long write in progress, as under a heavy load
                taken.set()
                release_store.wait(10)

        busy = threading.Thread(target=keep_store_busy)
        busy.start()
        taken.wait(5)
        try:
            refused = httpx.post(
                f"{receiver.endpoint}/v1/traces",
                content=b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"'
                + b"1" * 32
                + b'","spanId":"'
                + b"2" * 16
                + b'","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}',
                headers={"Content-Type": "application/json"},
                timeout=10,
            )
        finally:
            release_store.set()
            busy.join()
        status = httpx.get(f"{receiver.endpoint}/status", timeout=5).json()

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "2"
    assert status["exports_refused"] == 1


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0), ("1d", 86400.0)]
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "size"), [("1024", 1024), ("512MB", 512 * 2**20), ("2gb", 2 * 2**30), ("64k", 65536)]
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "fast", "-1h", "12q"])
def test_bad_bounds_are_refused_with_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_duration(bad)
    with pytest.raises(ValueError, match="not a"):
        parse_size(bad)


def test_status_says_when_the_store_is_over_its_bound_and_refusing(tmp_path: Path) -> None:
    from wayfinder.local.stack import store_status_text

    from tests.support import poll_until

    with TelemetryStore(tmp_path / "telemetry.db") as store:
        fill(store, 50, NOW - 100 * NANOS)
        hold(store, "drill", NOW - 200 * NANOS)  # nothing may go: the drill holds it all
        retention = Retention(max_age_s=0, max_bytes=4096, interval_s=0.05)
        with OTLPReceiver(store, port=0, retention=retention) as receiver:
            text = poll_until(
                lambda: "OVER" in (t := store_status_text(f"{receiver.endpoint}/status")) and t,
                "the store to report it is over its bound",
                timeout_s=10,
            )
    assert "OVER ITS SIZE BOUND (a running drill or scenario holds the rest)" in text
    assert " of 0 MB" in text
