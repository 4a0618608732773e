"""Retention: the store keeps a bounded window of telemetry, by age and by size.

Whichever bound is reached first wins. Pruning runs in small transactions from a background
thread, so an export never waits behind more than one batch. Spans go a whole trace at a
time (a half-pruned trace would read as a broken one: orphan spans, lost context); logs,
metric points and the raw export requests go by time. Two things are never pruned:
traces pinned by a drill or scenario (its evidence), and anything newer than the oldest
hold a running drill or scenario has placed (the window it will still query). When only
those are left and the store is still over its size bound, it says so instead of
deleting them: `wayfinder status` reports it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

from wayfinder.store.db import TelemetryStore

log = logging.getLogger(__name__)

NANOS = 1_000_000_000
_UNPINNED = "trace_id NOT IN (SELECT trace_id FROM pinned_traces)"


@dataclass(frozen=True)
class Retention:
    """The bounds. 0 switches a bound off."""

    max_age_s: float = 2 * 3600.0
    max_bytes: int = 512 * 1024 * 1024
    interval_s: float = 5.0
    # Traces (or rows) per transaction: small enough that ingest barely notices.
    batch: int = 200


@dataclass(frozen=True)
class PruneReport:
    removed_traces: int
    used_bytes: int
    over_bound: bool
    reason: str  # why the store is still over its bound, "" when it is not


def parse_duration(text: str) -> float:
    """`90`, `90s`, `30m`, `2h`, `1d` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 30m, 2h)")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * unit


def parse_size(text: str) -> int:
    """`1048576`, `512MB`, `2GB` (powers of 1024) -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*", text.lower())
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 512MB, 2GB)")
    power = "bkmgt".index(match.group(2)[:1] or "b")
    return int(float(match.group(1)) * 1024**power)


def used_bytes(store: TelemetryStore) -> int:
    """Bytes of live pages: free pages are reused by new rows, so they do not count."""
    pages = store.scalar("PRAGMA page_count") or 0
    free = store.scalar("PRAGMA freelist_count") or 0
    size = store.scalar("PRAGMA page_size") or 0
    return int((pages - free) * size)


def oldest_unix_nano(store: TelemetryStore) -> int | None:
    """The oldest timestamp of anything retention may remove (pinned traces do not count)."""
    candidates = [
        store.scalar(f"SELECT MIN(start_unix_nano) FROM spans WHERE {_UNPINNED}"),
        store.scalar(f"SELECT MIN(time_unix_nano) FROM logs WHERE trace_id IS NULL OR {_UNPINNED}"),
        store.scalar("SELECT MIN(time_unix_nano) FROM metric_points"),
        store.scalar("SELECT MIN(time_unix_nano) FROM requests"),
    ]
    present = [int(value) for value in candidates if value is not None]
    return min(present) if present else None


def hold_floor(store: TelemetryStore) -> int | None:
    """The start of the oldest window a running drill or scenario holds."""
    value = store.scalar("SELECT MIN(since_unix_nano) FROM holds")
    return None if value is None else int(value)


def hold(store: TelemetryStore, name: str, since_unix_nano: int) -> None:
    """Keep everything from `since_unix_nano` on until `release(name)`."""
    store.execute(
        "INSERT OR REPLACE INTO holds (name, since_unix_nano) VALUES (?, ?)", (name, since_unix_nano)
    )


def release(store: TelemetryStore, name: str) -> None:
    store.execute("DELETE FROM holds WHERE name = ?", (name,))


def pin(store: TelemetryStore, trace_id: str, reason: str) -> None:
    """Never prune this trace (a drill's evidence, a walkthrough's representative trace)."""
    store.execute("INSERT OR REPLACE INTO pinned_traces (trace_id, reason) VALUES (?, ?)", (trace_id, reason))


def prune_before(store: TelemetryStore, cutoff_unix_nano: int, batch: int) -> int:
    """Remove unpinned traces that started before the cutoff, and older rows; returns traces removed."""
    traces = 0
    while True:
        ids = [
            row[0]
            for row in store.rows(
                f"SELECT DISTINCT trace_id FROM spans WHERE start_unix_nano < ? AND {_UNPINNED} LIMIT ?",
                (cutoff_unix_nano, batch),
            )
        ]
        if not ids:
            break
        marks = ", ".join("?" for _ in ids)
        store.execute(f"DELETE FROM spans WHERE trace_id IN ({marks})", ids)
        traces += len(ids)
    for sql in (
        "DELETE FROM logs WHERE rowid IN (SELECT rowid FROM logs WHERE time_unix_nano < ? "
        f"AND (trace_id IS NULL OR {_UNPINNED}) LIMIT ?)",
        "DELETE FROM metric_points WHERE rowid IN "
        "(SELECT rowid FROM metric_points WHERE time_unix_nano < ? LIMIT ?)",
        "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE time_unix_nano < ? LIMIT ?)",
    ):
        while store.execute(sql, (cutoff_unix_nano, batch * 20)) > 0:
            pass
    return traces


def enforce(store: TelemetryStore, retention: Retention, now_unix_nano: int) -> PruneReport:
    """Prune to both bounds once; say whether (and why) the store is still over its size bound."""
    floor = hold_floor(store)
    removed = 0
    if retention.max_age_s > 0:
        cutoff = now_unix_nano - int(retention.max_age_s * NANOS)
        removed += prune_before(store, cutoff if floor is None else min(cutoff, floor), retention.batch)
    reason = ""
    while retention.max_bytes > 0 and used_bytes(store) > retention.max_bytes:
        oldest = oldest_unix_nano(store)
        if oldest is None:
            reason = "only pinned traces are left"
            break
        # Step forward a tenth of what is stored (at least a second) and prune again.
        cutoff = oldest + max((now_unix_nano - oldest) // 10, NANOS)
        if floor is not None:
            cutoff = min(cutoff, floor)
        if cutoff <= oldest:
            reason = "a running drill or scenario holds the rest"
            break
        removed += prune_before(store, cutoff, retention.batch)
    _release_free_pages(store)
    used = used_bytes(store)
    over = retention.max_bytes > 0 and used > retention.max_bytes
    return PruneReport(removed, used, over, reason if over else "")


def _release_free_pages(store: TelemetryStore) -> None:
    # A few MB at a time, each its own short statement, so the file shrinks without a long lock.
    while (store.scalar("PRAGMA freelist_count") or 0) > 0:
        before = store.scalar("PRAGMA freelist_count")
        store.execute("PRAGMA incremental_vacuum(2048)")
        if store.scalar("PRAGMA freelist_count") == before:
            break  # an older file without auto_vacuum: pages are reused, never returned


class Pruner:
    """Runs `enforce` every `interval_s` in a daemon thread; the last report is kept for /status."""

    def __init__(self, store: TelemetryStore, retention: Retention) -> None:
        self.store = store
        self.retention = retention
        self.last: PruneReport | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-retention", daemon=True)

    def start(self) -> Pruner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = enforce(self.store, self.retention, time.time_ns())
            except Exception:  # a failed pass must not end retention for good
                log.exception("retention pass failed")
            else:
                if report.over_bound and (self.last is None or not self.last.over_bound):
                    log.warning(
                        "telemetry store over its size bound (%d MB > %d MB): %s",
                        report.used_bytes // 2**20,
                        self.retention.max_bytes // 2**20,
                        report.reason,
                    )
                self.last = report
            self._stop.wait(self.retention.interval_s)
