"""Run every contract rule over captured telemetry and fold the violations into one report."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from wayfinder.contract.model import Registry
from wayfinder.contract.report import Report
from wayfinder.contract.rules import RULES, Rule
from wayfinder.contract.sites import Telemetry, within
from wayfinder.store.model import LogRecordRow, MetricPoint, SpanRecord


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
    telemetry = within(Telemetry(list(spans), list(logs), list(metric_points)), window)
    violations = [violation for rule in rules for violation in rule.check(telemetry, registry)]
    return Report.build(violations, {rule.id: rule.title for rule in RULES}, telemetry.counts())
