"""TelemetryStore: spans, logs and metric points in one SQLite file (or in memory).

One connection guarded by one lock serves every thread of the process (the receiver's handler
threads write through it); WAL lets other processes read the same file while it is written.
Every export request is kept next to its rows, so `dump_capture` can write it back out.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from google.protobuf.message import Message

from wayfinder.store import otlp
from wayfinder.store.decode import Record, decode, records_of
from wayfinder.store.encode import logs_request, metrics_request, spans_request
from wayfinder.store.model import LogRecordRow, MetricPoint, SpanRecord
from wayfinder.store.query import Where, attribute_match
from wayfinder.store.schema import (
    LOGS,
    METRIC_POINTS,
    REQUESTS_TIME,
    REQUESTS_TIME_INDEX,
    SCHEMA,
    SPANS,
    TABLES,
    Table,
)


class StoreBusy(RuntimeError):
    """The store could not take a write within its deadline: the exporter should retry later."""


class TelemetryStore:
    """The query API over what the OTLP receiver (or a capture file) delivered."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        # check_same_thread=False: the lock, not the creating thread, owns the connection.
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        with self._lock:
            if self.path != ":memory:":
                # Before the first table exists (no effect on older files): pages that
                # retention frees can be handed back to the file system.
                self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                self._db.execute("PRAGMA journal_mode=WAL")
                # NORMAL is durable against a crash of this process, which is what matters here.
                self._db.execute("PRAGMA synchronous=NORMAL")
                # The WAL file is truncated back to this after a checkpoint instead of
                # keeping its largest size for ever.
                self._db.execute("PRAGMA journal_size_limit=67108864")
            self._db.executescript(SCHEMA)
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(requests)")]
            if "time_unix_nano" not in columns:
                self._db.execute(REQUESTS_TIME)
            self._db.execute(REQUESTS_TIME_INDEX)

    @classmethod
    def from_capture(cls, path: str | Path) -> TelemetryStore:
        """An in-memory store holding everything a capture file (JSON Lines) holds."""
        store = cls(":memory:")
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    message = otlp.request_from_json(entry["signal"], entry["otlp"])
                    store._add_message(entry["signal"], message)
                except (ValueError, KeyError, TypeError) as exc:
                    store.close()
                    raise ValueError(f"{path}:{number}: not a capture entry: {exc}") from exc
        return store

    # -- writing -------------------------------------------------------------------------

    def ingest(self, signal: str, payload: bytes, content_type: str, wait_s: float | None = None) -> int:
        """Store one (decompressed) export request body; returns the number of records.

        With `wait_s`, raise StoreBusy instead of queueing longer than that for the store.
        """
        decoded = decode(signal, payload, content_type)
        return self._write(signal, decoded.message, decoded.records, wait_s)

    def add_spans(self, spans: Iterable[SpanRecord]) -> None:
        records = list(spans)
        self._write("traces", spans_request(records), records)

    def add_logs(self, logs: Iterable[LogRecordRow]) -> None:
        records = list(logs)
        self._write("logs", logs_request(records), records)

    def add_metric_points(self, points: Iterable[MetricPoint]) -> None:
        records = list(points)
        self._write("metrics", metrics_request(records), records)

    def _add_message(self, signal: str, message: Message) -> int:
        return self._write(signal, message, records_of(signal, message))

    def _write(
        self, signal: str, message: Message, records: Sequence[Record], wait_s: float | None = None
    ) -> int:
        if not records:
            return 0
        table: Table[Any] = TABLES[signal]
        payload = message.SerializeToString()
        rows = [table.to_row(record) for record in records]
        if not self._lock.acquire(timeout=-1 if wait_s is None else wait_s):
            raise StoreBusy(f"the store stayed busy for {wait_s:.1f}s")
        try:
            with self._db:
                self._db.execute(
                    "INSERT INTO requests (signal, payload, time_unix_nano) VALUES (?, ?, ?)",
                    (signal, payload, _newest_time(records)),
                )
                self._db.executemany(table.insert_sql, rows)
        finally:
            self._lock.release()
        return len(records)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One short write transaction (retention's batches); returns the rows it changed."""
        with self._lock, self._db:
            return self._db.execute(sql, params).rowcount

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (retention and status read through this)."""
        return self._rows(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        rows = self._rows(sql, params)
        return rows[0][0] if rows else None

    # -- reading -------------------------------------------------------------------------

    def spans(
        self,
        trace_id: str | None = None,
        service: str | None = None,
        name: str | None = None,
        since_unix_nano: int | None = None,
    ) -> list[SpanRecord]:
        """Spans ordered by start time (a parent before a child that starts with it)."""
        where = (
            Where()
            .equals("trace_id", trace_id)
            .equals("service_name", service)
            .equals("name", name)
            .at_least("start_unix_nano", since_unix_nano)
        )
        return self._select(SPANS, where, "start_unix_nano, end_unix_nano DESC, span_id")

    def logs(
        self,
        trace_id: str | None = None,
        service: str | None = None,
        since_unix_nano: int | None = None,
    ) -> list[LogRecordRow]:
        """Log records ordered by time."""
        where = (
            Where()
            .equals("trace_id", trace_id)
            .equals("service_name", service)
            .at_least("time_unix_nano", since_unix_nano)
        )
        return self._select(LOGS, where, "time_unix_nano, rowid")

    def metric_points(
        self,
        name: str | None = None,
        service: str | None = None,
        since_unix_nano: int | None = None,
    ) -> list[MetricPoint]:
        """Metric points in arrival order within each timestamp."""
        where = (
            Where()
            .equals("name", name)
            .equals("service_name", service)
            .at_least("time_unix_nano", since_unix_nano)
        )
        return self._select(METRIC_POINTS, where, "time_unix_nano, rowid")

    def metric_points_after(
        self, row_id: int, since_unix_nano: int | None = None
    ) -> tuple[int, list[MetricPoint]]:
        """Metric points stored after row `row_id` (and not older than `since_unix_nano`),
        in arrival order, with the last row id read: what a reader polling for new points needs."""
        where = Where().clause("rowid > ?", [row_id]).at_least("time_unix_nano", since_unix_nano)
        columns = ", ".join(METRIC_POINTS.columns)
        rows = self._rows(
            f"SELECT rowid, {columns} FROM metric_points{where.sql} ORDER BY rowid", where.params
        )
        last = rows[-1][0] if rows else row_id
        return last, [METRIC_POINTS.from_row(row[1:]) for row in rows]

    def metric_names(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT DISTINCT name FROM metric_points ORDER BY name")]

    def trace_ids(
        self,
        service: str | None = None,
        span_name: str | None = None,
        attribute: tuple[str, object] | None = None,
        limit: int = 50,
    ) -> list[str]:
        """Traces holding a span that matches every filter given, newest trace first."""
        where = Where().equals("service_name", service).equals("name", span_name)
        if attribute is not None:
            where.clause(*attribute_match("spans", *attribute))
        sql = (
            "SELECT trace_id FROM spans WHERE trace_id IN "
            f"(SELECT trace_id FROM spans{where.sql}) "
            "GROUP BY trace_id ORDER BY MIN(start_unix_nano) DESC LIMIT ?"
        )
        return [row[0] for row in self._rows(sql, [*where.params, limit])]

    def find_trace_by_attribute(self, key: str, value: object) -> str | None:
        """The first trace (by start time) with a span carrying `key=value`, e.g. an order.id.

        The first one is the trace that introduced the value (the checkout that created the
        order), not a later read of it; `trace_ids(attribute=...)` lists them all.
        """
        clause, params = attribute_match("spans", key, value)
        rows = self._rows(
            f"SELECT trace_id FROM spans WHERE {clause} ORDER BY start_unix_nano LIMIT 1", params
        )
        return rows[0][0] if rows else None

    # -- streaming (the contract check over a store of any size) ----------------------------

    def newest_unix_nano(self) -> int | None:
        """The newest timestamp stored: span ends, log and metric point times."""
        values = [
            row[0]
            for sql in (
                "SELECT MAX(end_unix_nano) FROM spans",
                "SELECT MAX(time_unix_nano) FROM logs",
                "SELECT MAX(time_unix_nano) FROM metric_points",
            )
            for row in self._rows(sql)
            if row[0] is not None
        ]
        return max(values) if values else None

    def iter_traces(self, chunk: int, since_unix_nano: int | None = None) -> Iterator[list[SpanRecord]]:
        """Spans in chunks of about `chunk`, never splitting a trace across two chunks."""
        where = Where().at_least("start_unix_nano", since_unix_nano)
        rows = self._stream(f"{SPANS.select_sql}{where.sql} ORDER BY trace_id, span_id", where.params)
        batch: list[SpanRecord] = []
        for row in rows:
            span = SPANS.from_row(row)
            if len(batch) >= chunk and span.trace_id != batch[-1].trace_id:
                yield batch
                batch = []
            batch.append(span)
        if batch:
            yield batch

    def iter_logs(self, chunk: int, since_unix_nano: int | None = None) -> Iterator[list[LogRecordRow]]:
        where = Where().at_least("time_unix_nano", since_unix_nano)
        yield from _chunked(self._stream(f"{LOGS.select_sql}{where.sql}", where.params), LOGS, chunk)

    def iter_metric_points(
        self, chunk: int, since_unix_nano: int | None = None
    ) -> Iterator[list[MetricPoint]]:
        where = Where().at_least("time_unix_nano", since_unix_nano)
        sql = f"{METRIC_POINTS.select_sql}{where.sql}"
        yield from _chunked(self._stream(sql, where.params), METRIC_POINTS, chunk)

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        # Rows a few hundred at a time: the whole result never sits in memory.
        with self._lock:
            cursor = self._db.execute(sql, params)
        while True:
            with self._lock:
                rows = cursor.fetchmany(500)
            if not rows:
                return
            yield from rows

    def _select(self, table: Table[Any], where: Where, order_by: str) -> list[Any]:
        rows = self._rows(f"{table.select_sql}{where.sql} ORDER BY {order_by}", where.params)
        return [table.from_row(row) for row in rows]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- capture files and lifetime ------------------------------------------------------

    def dump_capture(self, path: str | Path) -> None:
        """Write every stored export request as a capture file (JSON Lines of OTLP/JSON)."""
        rows = self._rows("SELECT signal, payload FROM requests ORDER BY id")
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        with open(partial, "w", encoding="utf-8") as out:
            for signal, payload in rows:
                message = otlp.parse_request(signal, payload, otlp.PROTOBUF)
                entry = {"signal": signal, "otlp": otlp.request_to_json(message)}
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
        # Readers (the contract checker) never see a half-written file.
        os.replace(partial, target)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> TelemetryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _newest_time(records: Sequence[Record]) -> int:
    """The newest record's timestamp, never later than now (a skewed clock must not pin it)."""
    times: list[int] = [
        int(getattr(record, "end_unix_nano", None) or getattr(record, "time_unix_nano", 0) or 0)
        for record in records
    ]
    return min(max(times, default=0) or time.time_ns(), time.time_ns())


def _chunked(rows: Iterable[tuple[Any, ...]], table: Table[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(table.from_row(row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
