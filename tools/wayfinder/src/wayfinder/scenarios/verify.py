"""Prove a scenario's answer key from telemetry alone, and the shop healthy after a run.

Every check goes through the query layer (wayfinder.query.interface), so it holds in local mode
and on the compose stack alike; only the stock check reads the shop's database (stock is not
telemetry). Each element of the answer key becomes one Check: ok or missing, plus the evidence
found (alert labels, breakdown values, a trace id, a log line) or what was looked at instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from wayfinder.navigator.tree import TraceSummary
from wayfinder.query.interface import QueryBackend
from wayfinder.query.model import Breakdown, QueryError, Series, TraceQuery
from wayfinder.scenarios.model import MetricEvidence, SampledEvidence, Scenario, SpanEvidence

# A value "stands out" when its peak is at least this many times every other value's peak; a
# ratio below it between the highest and the lowest means "nothing stands out".
STANDOUT = 2.0
TRACES_SEARCHED = 20
# A count of fewer events says nothing about sampling; a search this wide counts every trace of a run.
COUNTED_AT_LEAST = 5
TRACES_COUNTED = 1000


@dataclass(frozen=True)
class Check:
    element: str
    ok: bool | None  # None: not checkable in this mode (said in the evidence), not a failure
    evidence: str


def passed(checks: list[Check]) -> bool:
    return all(c.ok is not False for c in checks) and any(c.ok for c in checks)


def verify(
    scenario: Scenario, backend: QueryBackend, since_s: float, now_s: float, window: str
) -> list[Check]:
    """One check per element of the answer key, over the telemetry since the run started."""
    answer, evidence = scenario.answer, scenario.answer.evidence
    range_s = max(60.0, now_s - since_s)
    checks: list[Check] = []
    if answer.alert:
        checks.append(_guarded("alert", lambda: alert_fired(backend, answer.alert or "", range_s)))
    if answer.scope == "none":
        checks.append(_guarded("alert", lambda: nothing_fired(backend, range_s)))
    if evidence.metric:
        metric = evidence.metric
        checks.append(
            _guarded(
                "scope",
                lambda: judge_scope(
                    metric,
                    answer.scope,
                    backend.breakdown(
                        metric.name, metric.by, 0.95, window, range_s, tuple(metric.where.items())
                    ).value,
                ),
            )
        )
    if evidence.span:
        span = evidence.span
        checks.extend(
            _guarded_many("span", lambda: span_and_logs(backend, span, evidence.log_pattern, since_s))
        )
    if evidence.sampled and evidence.metric:
        sampled, metric = evidence.sampled, evidence.metric
        checks.append(
            _guarded("sampled", lambda: sampled_away(backend, metric, sampled, window, since_s, range_s))
        )
    return checks


def expected_elements(scenario: Scenario) -> set[str]:
    """What a full proof of this answer key judges: a check that was never made proves nothing."""
    answer, evidence = scenario.answer, scenario.answer.evidence
    wanted = {
        "alert": bool(answer.alert) or answer.scope == "none",
        "scope": evidence.metric is not None,
        "span": evidence.span is not None,
        "log": evidence.span is not None and evidence.log_pattern is not None,
        "sampled": evidence.sampled is not None,
    }
    return {element for element, yes in wanted.items() if yes}


def unproven(scenario: Scenario, checks: list[Check]) -> list[str]:
    """The key's elements no check has proven yet (sorted)."""
    return sorted(expected_elements(scenario) - {c.element for c in checks if c.ok})


def _guarded(element: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except QueryError as exc:
        return Check(element, False, f"no answer: {exc}")


def _guarded_many(element: str, check: Callable[[], list[Check]]) -> list[Check]:
    try:
        return check()
    except QueryError as exc:
        return [Check(element, False, f"no answer: {exc}")]


def labels_text(labels: dict[str, str]) -> str:
    return " ".join(
        f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("alertname", "alertstate", "__name__")
    )


def alert_fired(backend: QueryBackend, name: str, range_s: float) -> Check:
    """The expected alert fires now, or fired during the run (it may have resolved since)."""
    now = [a for a in backend.alerts().value if a.state == "firing" and a.name == name]
    if now:
        return Check("alert", True, f"{name} firing: {labels_text(now[0].labels)}")
    before = [labels for labels in backend.fired(range_s).value if labels.get("alertname") == name]
    if before:
        return Check("alert", True, f"{name} fired (resolved since): {labels_text(before[0])}")
    return Check("alert", False, f"{name} neither firing nor fired in the last {range_s:.0f} s")


def nothing_fired(backend: QueryBackend, range_s: float) -> Check:
    """No incident: no alert fires now nor fired during the run."""
    names = {a.name for a in backend.alerts().value if a.state == "firing"}
    names |= {labels.get("alertname", "?") for labels in backend.fired(range_s).value}
    if names:
        return Check("alert", False, f"alerts fired: {', '.join(sorted(names))}")
    return Check("alert", True, f"no alert fired in the last {range_s:.0f} s")


def extremes(breakdown: Breakdown, lowest: bool = False) -> dict[str, float]:
    """Each label value's highest (or lowest) value over the range: a fault may have recovered by now.

    Series without the label ("(none)": requests that carry no region, say) are no value of it.
    """
    pick = min if lowest else max
    found: dict[str, float] = {}
    for series in breakdown.series:
        if series.label_value == "(none)":
            continue
        values = [v for _, v in series.points] + ([series.value] if series.value is not None else [])
        if values:
            found[series.label_value] = pick(values)
    return found


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def affected_value(metric: MetricEvidence, present: Iterable[str]) -> str | None:
    """The affected label value as the data names it (the first of a list that is present)."""
    if metric.affected is None or isinstance(metric.affected, str):
        return metric.affected
    names = set(present)
    return next((a for a in metric.affected if a in names), metric.affected[0])


def stands_out(mine: float | None, others: list[float], falls: bool = False) -> bool:
    """One value apart from all the others: STANDOUT times above them, or (falls) below them."""
    if mine is None or (falls and not others):  # a fall needs something that stayed up
        return False
    if falls:
        return all(v > 0 and v >= STANDOUT * mine for v in others)
    return mine > 0 and all(mine >= STANDOUT * v for v in others)


def judge_scope(metric: MetricEvidence, scope: object, breakdown: Breakdown) -> Check:
    """The breakdown separates the affected value; fleet-wide: every value alike; none: nothing stands out.

    Judged on each value's peak over the range (its trough for a value that falls), so a slice
    that has recovered by now still counts: the walk and `verify` say the same thing.
    """
    top = extremes(breakdown, lowest=metric.falls)
    shown = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(top.items(), key=lambda kv: -kv[1]))
    over = "lowest" if metric.falls else "peak"
    what = f"{metric.name} {breakdown.statistic} by {metric.by} ({over} over the run): {shown or 'no data'}"
    if not top:
        return Check("scope", False, what)
    affected = affected_value(metric, top)
    if affected is not None:
        others = [v for k, v in top.items() if k != affected]
        ok = stands_out(top.get(affected), others, metric.falls)
        way = "fall below" if metric.falls else "stand out from"
        return Check("scope", ok, f"{what}; expected {affected} to {way} the rest ({STANDOUT:g}x)")
    highest, lowest = max(top.values()), min(top.values())
    alike = lowest > 0 and highest < STANDOUT * lowest
    if scope == "fleet-wide":
        return Check("scope", alike and len(top) > 1, f"{what}; expected every value alike (fleet-wide)")
    if scope == "none":
        return Check("scope", alike, f"{what}; expected nothing to stand out")
    return Check("scope", highest > 0, f"{what}; expected a non-zero value")


def span_query(span: SpanEvidence, limit: int) -> TraceQuery:
    """The trace search for a span with its attributes (booleans as the backends store them)."""
    attributes = tuple(
        (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in span.attributes.items()
    )
    return TraceQuery(service=span.service, span_name=span.name, attributes=attributes, limit=limit)


def counted(series: Series) -> float:
    """How many events a rate series saw over its range: the area under it (per second x seconds)."""
    points = series.points
    return sum(value * (t - before) for (before, _), (t, value) in zip(points, points[1:], strict=False))


def sampled_away(
    backend: QueryBackend,
    metric: MetricEvidence,
    sampled: SampledEvidence,
    window: str,
    since_s: float,
    range_s: float,
) -> Check:
    """The metric counted the events; only a small share of them left a trace to find."""
    breakdown = backend.breakdown(
        metric.name, metric.by, 0.95, window, range_s, tuple(metric.where.items())
    ).value
    affected = affected_value(metric, [s.label_value for s in breakdown.series]) or str(metric.affected)
    series = next((s for s in breakdown.series if s.label_value == affected), None)
    count = counted(series) if series else 0.0
    query, span = span_query(sampled.span, TRACES_COUNTED), sampled.span
    traces = [t for t in backend.search_traces(query).value if t.start_unix_nano >= since_s * 1e9]
    what = (
        f"{metric.name} {metric.by}={affected} counted about {count:.0f} over the run; {len(traces)} "
        f"traces hold {span.name} of {span.service} with {labels_text(dict(query.attributes))}"
    )
    ok = count >= COUNTED_AT_LEAST and len(traces) <= sampled.at_most * count
    expected = f"at least {COUNTED_AT_LEAST} counted, at most {sampled.at_most:.0%} of them with a trace"
    return Check("sampled", ok, f"{what}; expected {expected}")


def span_and_logs(
    backend: QueryBackend, span: SpanEvidence, log_pattern: str | None, since_s: float
) -> list[Check]:
    """A trace of the run holds the named span with its attributes; that trace's logs match the pattern."""
    query = span_query(span, TRACES_SEARCHED)
    attributes = query.attributes

    def fits(trace: TraceSummary) -> bool:
        rooted = (trace.root_name, trace.root_service) == (span.name, span.service)
        return trace.start_unix_nano >= since_s * 1e9 and (rooted or not span.starts_trace)

    traces = [t for t in backend.search_traces(query).value if fits(t)]
    with_attributes = f" with {labels_text(dict(attributes))}" if attributes else ""
    wanted = f"{span.name} of {span.service}{with_attributes}"
    wanted += " starting its own trace" if span.starts_trace else ""
    if not traces:
        return [Check("span", False, f"no trace of the run holds {wanted}")]
    if log_pattern is None:
        return [Check("span", True, f"{wanted} in trace {traces[0].trace_id}")]
    pattern = re.compile(log_pattern)
    # A pattern usually names a failure, logged on a failed trace: those first, then the newest.
    failed = backend.search_traces(replace(query, errors=True)).value
    candidates = list({t.trace_id: t for t in [*failed, *traces] if fits(t)}.values())
    for trace in candidates:
        for record in backend.trace_logs(trace.trace_id).value:
            if pattern.search(record.body):
                return [
                    Check("span", True, f"{wanted} in trace {trace.trace_id}"),
                    Check("log", True, f"trace {trace.trace_id}: {record.service_name}: {record.body}"),
                ]
    return [
        Check("span", True, f"{wanted} in trace {traces[0].trace_id}"),
        Check("log", False, f"no log line matching {log_pattern!r} in {len(candidates)} such traces"),
    ]
