"""Run every contract rule over captured telemetry and fold the violations into one report.

`run_checks` takes everything at once; `StreamingCheck` takes it chunk by chunk (whole traces
per chunk) and `check_store` streams a store through it, so a check of a million spans holds
one chunk in memory, not the store. Both give the same report for the same data: the rules
that need all of it (cardinality budgets, context lost across the async hop) keep a tally
across chunks and judge at the end.
"""

from __future__ import annotations

import gc
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import timedelta

from wayfinder.contract.model import Registry
from wayfinder.contract.report import Findings, Report
from wayfinder.contract.rules import RULES, Rule, Tally
from wayfinder.contract.sites import Telemetry, unique_resources, within
from wayfinder.store.db import TelemetryStore
from wayfinder.store.model import LogRecordRow, MetricPoint, SpanRecord

CHUNK_RECORDS = 5000


def run_checks(
    spans: Iterable[SpanRecord],
    logs: Iterable[LogRecordRow],
    metric_points: Iterable[MetricPoint],
    registry: Registry,
    window: timedelta | None = None,
    rules: Iterable[Rule] = RULES,
) -> Report:
    """Check telemetry against the registry; `window` keeps only the newest part of the data.

    The window is anchored on the newest record rather than the wall clock, so checking an
    old capture gives the same answer as checking it when it was fresh.
    """
    check = StreamingCheck(registry, rules)
    check.feed(within(Telemetry(list(spans), list(logs), list(metric_points)), window))
    return check.report()


class StreamingCheck:
    """Feed whole traces (and any logs and metric points) in chunks; then ask for the report."""

    def __init__(self, registry: Registry, rules: Iterable[Rule] = RULES) -> None:
        self.registry = registry
        self.rules = tuple(rules)
        self.tallies: list[Tally] = [rule.tally() for rule in self.rules if rule.tally is not None]
        self.findings = Findings()
        self.checked: Counter[str] = Counter()
        self._resources_seen: set[str] = set()

    def feed(self, chunk: Telemetry) -> None:
        # Each distinct resource is judged once over the whole check, not once per chunk.
        fresh = {k: v for k, v in unique_resources(chunk).items() if k not in self._resources_seen}
        self._resources_seen.update(fresh)
        chunk = Telemetry(chunk.spans, chunk.logs, chunk.metric_points, fresh)
        for rule in self.rules:
            if rule.tally is None:
                self.findings.add(rule.check(chunk, self.registry))
        for tally in self.tallies:
            self.findings.add(tally.feed(chunk, self.registry))
        self.checked.update(chunk.counts())

    def report(self) -> Report:
        for tally in self.tallies:
            self.findings.add(tally.finish(self.registry))
        order = ("spans", "logs", "metric points", "resources", "traces")
        checked = {kind: self.checked.get(kind, 0) for kind in order}
        return self.findings.report({rule.id: rule.title for rule in RULES}, checked)


def check_store(
    store: TelemetryStore,
    registry: Registry,
    window: timedelta | None = None,
    chunk_records: int = CHUNK_RECORDS,
    rules: Iterable[Rule] = RULES,
) -> Report:
    """Stream a store through the rules: memory holds one chunk, time grows with the data."""
    since = None
    if window is not None:
        newest = store.newest_unix_nano()
        since = None if newest is None else newest - int(window.total_seconds() * 1e9)
    check = StreamingCheck(registry, rules)
    chunks: Iterator[Telemetry] = itertools.chain(
        (Telemetry(spans, [], []) for spans in store.iter_traces(chunk_records, since)),
        (Telemetry([], logs, []) for logs in store.iter_logs(chunk_records, since)),
        (Telemetry([], [], points) for points in store.iter_metric_points(chunk_records, since)),
    )
    # A chunk is hundreds of thousands of small tuples with no cycles between them: left on,
    # the cyclic collector rescans them again and again and takes most of the time. Off
    # while a chunk is checked; between chunks one young-generation pass frees whatever cycle
    # the chunk made, without rescanning the tallies that live for the whole check.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for chunk in chunks:
            check.feed(chunk)
            del chunk
            gc.collect(0)
    finally:
        if collecting:
            gc.enable()
    return check.report()
