"""`wayfinder walk SCENARIO`: start a scenario, wait for its alert, then walk the article's
evidence path one step at a time (alert, metric, representative trace, span attributes, logs,
scope), showing the command behind each step so the trainee learns the moves, not the output.

Every answer comes from the query layer, so a walk reads the same telemetry a trainee would, in
either mode. The walk is guided: it names the answer, which a drill never does.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from wayfinder.query.interface import QueryBackend
from wayfinder.query.model import Answer, Breakdown, QueryError, TraceQuery
from wayfinder.query.promql import by_label
from wayfinder.scenarios import catalog
from wayfinder.scenarios.grading import step_two_label
from wayfinder.scenarios.model import MetricEvidence, Scenario
from wayfinder.scenarios.verify import affected_value, judge_scope
from wayfinder.store.model import SpanRecord

_PROMQL_WORDS = {"sum", "by", "rate", "max", "min", "avg", "or", "and", "unless", "vector", "le"}
_SUFFIXES = ("_bucket", "_count", "_sum")


def register(sub: Any) -> None:
    walk = sub.add_parser(
        "walk",
        help="a guided incident: start a scenario, then walk alert -> metric -> trace -> logs -> scope",
    )
    walk.add_argument("name", help="a scenario (`wayfinder scenario list`)")
    walk.add_argument("--seed", type=int, default=1, help="the fault timeline's seed (default 1)")
    walk.add_argument("--speed", type=float, default=10.0, help="time compression (default 10)")
    walk.add_argument(
        "--wait", type=float, default=None, help="seconds to wait for the alert (300; 1200 at real speed)"
    )
    walk.set_defaults(handler=cmd_walk)


def cmd_walk(args: argparse.Namespace) -> int:
    from wayfinder.local.cli import in_compose_stack
    from wayfinder.query.select import backend
    from wayfinder.scenarios.cli import cmd_start, cmd_stop
    from wayfinder.scenarios.rulespeed import alert_wait_s, speed_in

    scenario = catalog.load(args.name)
    speed = speed_in(args.speed, in_compose_stack())
    started = cmd_start(argparse.Namespace(name=scenario.name, seed=args.seed, speed=args.speed))
    if started != 0:
        return started
    try:
        walk = Walk(backend(), scenario, speed, sys.stdout, _pause(sys.stdin, sys.stdout))
        return walk.run(alert_wait_s(args.wait, speed))
    except QueryError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 1
    finally:
        cmd_stop(argparse.Namespace())


def _pause(stdin: TextIO, out: TextIO) -> Callable[[], None]:
    def pause() -> None:
        print("\n[Enter] next step", file=out, flush=True)
        stdin.readline()  # at end of input (not a terminal): go on

    return pause


def alert_metric(alert: str, rules_dir: Path) -> str | None:
    """The first series an alert rule reads: the metric that moved (e.g. checkout latency)."""
    for path in sorted(rules_dir.glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if rule.get("alert") == alert:
                    return _first_series(rule["expr"])
    return None


def _first_series(expr: str) -> str | None:
    # Label matchers, grouping clauses and strings name labels, not series: drop them first.
    text = re.sub(r"\{[^}]*\}|\"[^\"]*\"|\[[^\]]*\]", " ", expr)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        name = match.group()
        if name in _PROMQL_WORDS or text[match.end() :].lstrip().startswith("("):
            continue
        return name
    return None


def base_name(series: str) -> str:
    """A histogram's series (`..._bucket`) as the metric the navigation commands take."""
    for suffix in _SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series


@dataclass
class Found:
    """The representative trace a walk settled on, and the span it points at."""

    trace_id: str
    spans: list[SpanRecord]
    span: SpanRecord | None


class Walk:
    def __init__(
        self,
        backend: QueryBackend,
        scenario: Scenario,
        speed: float,
        out: TextIO,
        pause: Callable[[], None],
        rules_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        started_at: float | None = None,
    ) -> None:
        from wayfinder.local.config import find_project_root

        self.backend = backend
        self.scenario = scenario
        self.answer = scenario.answer
        self.out = out
        self.pause = pause
        self.rules_dir = rules_dir or find_project_root() / "prometheus" / "rules"
        self.clock = clock
        self.sleep = sleep
        # An alert left firing by an earlier run is not this run's: it must have become active since.
        self.started_at = time.time() if started_at is None else started_at
        # At training speed the rules' 5m windows are 30 s: read the metrics the same way.
        self.window = f"{max(1, round(300 / speed))}s"
        self.range_s = max(120.0, 1800 / speed)
        self.step = 0
        self.path: list[str] = []
        # The affected slice's current quantile (step 2): a representative trace is one near it.
        self.typical_slow: float | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def heading(self, title: str, command: str, link: str | None = None) -> None:
        self.step += 1
        self.say(f"\n== Step {self.step}: {title}")
        self.say(f"$ {command}")
        if link:
            self.say(f"Grafana: {link}")
        self.path.append(command)

    def run(self, wait_s: float) -> int:
        s = self.scenario
        self.say(f"\n{s.title}. You are told ({s.told.kind}): {s.told.text}")
        if s.alert and not self.wait_for_alert(s.alert, wait_s):
            self.say(f"\n{s.alert} did not fire within {wait_s:.0f} s; `wayfinder scenario status` says why.")
            return 1
        metric = alert_metric(s.alert, self.rules_dir) if s.alert else None
        by = step_two_label(s, base_name(metric) if metric else None)
        if s.alert:
            self._alert_step(s.alert)
        if metric:
            self._metric_step(base_name(metric), by)
        found = self._representative_trace(base_name(metric) if metric else None, by)
        if found is None:
            self.say("\nNo trace shows the evidence yet; run `wayfinder traces` in a moment.")
            return 1
        self._span_step(found)
        self._logs_step(found)
        self._scope_step()
        self._summary()
        return 0

    def wait_for_alert(self, alert: str, wait_s: float) -> bool:
        self.say(
            f"Waiting for {alert} to fire (the fault starts within a minute; alerts need a little longer)."
        )
        deadline = self.clock() + wait_s
        started = self.clock()
        last_note = started
        while self.clock() < deadline:
            alerts = self.backend.alerts().value
            if any(a.name == alert and a.state == "firing" and self._this_run(a.active_at) for a in alerts):
                self.say(f"{alert} is firing after {self.clock() - started:.0f} s.")
                return True
            if self.clock() - last_note >= 15:
                last_note = self.clock()
                self.say(f"  ... {last_note - started:.0f} s, still waiting for {alert}")
            self.sleep(2)
        return False

    def _this_run(self, active_at: str) -> bool:
        since = _unix_seconds(active_at)
        return since is None or since >= self.started_at - 5

    def _alert_step(self, alert: str) -> None:
        from wayfinder.query.render import render_alerts

        answer = self.backend.alerts()
        self.heading("the alert", "wayfinder alerts", answer.link)
        firing = [a for a in answer.value if a.name == alert and self._this_run(a.active_at)]
        self.say(render_alerts(firing, dashboards=self.backend.name == "compose"))
        self.pause()

    def _breakdown(self, metric: str, by: str | None) -> Answer[Breakdown]:
        return self.backend.breakdown(metric, by, 0.95, self.window, self.range_s)

    def _metric_step(self, metric: str, by: str | None) -> None:
        from wayfinder.query.render import render_breakdown

        answer = self._breakdown(metric, by or "http.route")
        values = {s.label_value: s.value for s in answer.value.series if s.value is not None}
        affected = self._affected()
        self.typical_slow = values.get(affected) if affected else max(values.values(), default=None)
        flags = f"--by {by or 'http.route'} --window {self.window} --range {self.range_s:.0f}s"
        self.heading("the metric that moved, and where", f"wayfinder metrics {metric} {flags}", answer.link)
        self.say(render_breakdown(answer.value, f"{self.range_s / 60:g}m"))
        self.say(f"query: {answer.query}")
        self.pause()

    def _representative_trace(self, metric: str | None, by: str | None) -> Found | None:
        from wayfinder.navigator.waterfall import render_trace

        found = self._from_exemplars(metric, by) if metric else None
        command = f"wayfinder metrics {metric} --by {by} --exemplars" if found else ""
        if found is None:
            found = self._from_search()
            command = f"wayfinder traces {self._search_flags()}"
        if found is None:
            return None
        self.heading("a representative trace", f"{command}; wayfinder trace {found.trace_id}")
        width = max(100, min(160, shutil.get_terminal_size((120, 20)).columns))
        highlight = found.span.span_id if found.span else None
        self.say(render_trace(found.spans, width=width, highlight=highlight))
        if found.span is not None:
            span = found.span
            share = span.duration_ms / max(1e-9, max(s.duration_ms for s in found.spans))
            self.say(
                f"\n▶ {span.name} ({span.service_name}) takes {span.duration_ms / 1000:.1f} s,"
                f" {share:.0%} of the trace."
            )
        self.pause()
        return found

    def _affected(self) -> str | None:
        scope = self.answer.scope
        return next(iter(scope.values())) if isinstance(scope, dict) else None

    def _from_exemplars(self, metric: str, by: str | None) -> Found | None:
        exemplars = self.backend.exemplars(metric, by, self.range_s).value
        affected, label = self._affected(), by_label(by) if by else None
        candidates = [e for e in exemplars if not affected or not label or e.series.get(label) == affected]
        # Representative: the exemplar nearest the slice's p95 (what the alert saw), not the
        # outlier and not one of the many fast requests; slowest first when that is unknown.
        # A checkout that ended well is the story's plain case (a declined card's 402 is a detour
        # the load takes on purpose), so those come first when the series says the outcome.
        target = self.typical_slow
        candidates.sort(
            key=lambda e: (
                e.series.get("checkout_outcome", "success") != "success",
                -e.value if target is None else abs(e.value - target),
            )
        )
        for exemplar in candidates[:10]:
            found = self._open(exemplar.trace_id)
            if found is not None and found.span is not None:
                return found
        return None

    def _search_flags(self) -> str:
        span = self.answer.evidence.span
        flags = [f"--span {self.answer.span}"] if self.answer.span else []
        if span is not None:
            flags = [f"--span {span.name}", *(f"--attr {k}={v}" for k, v in span.attributes.items())]
        return " ".join(flags)

    def _from_search(self) -> Found | None:
        span = self.answer.evidence.span
        query = TraceQuery(
            span_name=span.name if span else self.answer.span,
            attributes=tuple((k, str(v)) for k, v in span.attributes.items()) if span else (),
            limit=5,
        )
        for summary in self.backend.search_traces(query).value:
            found = self._open(summary.trace_id)
            if found is not None:
                return found
        return None

    def _open(self, trace_id: str) -> Found | None:
        spans = self.backend.trace(trace_id).value
        if not spans:
            return None
        named = [s for s in spans if s.name == self.answer.span] if self.answer.span else []
        return Found(trace_id, spans, max(named, key=lambda s: s.duration_ms) if named else None)

    def _span_step(self, found: Found) -> None:
        span = found.span
        if span is None:
            return
        self.heading(f"{span.name}'s attributes, and its children's", f"wayfinder trace {found.trace_id}")
        self.say(f"{span.name}: {_attributes(span)}")
        children = sorted(
            (s for s in found.spans if s.parent_span_id == span.span_id), key=lambda s: s.start_unix_nano
        )
        # Database spans are the trace's detail; the calls to other services tell the story.
        calls = [c for c in children if "db.system.name" not in c.attributes]
        for child in calls:
            self.say(f"  {child.name} {child.duration_ms:.0f} ms: {_attributes(child)}")
        if len(calls) < len(children):
            self.say(f"  (and {len(children) - len(calls)} database spans: `wayfinder trace` shows them)")
        self.pause()

    def _logs_step(self, found: Found) -> None:
        from wayfinder.navigator.tables import render_logs

        answer = self.backend.trace_logs(found.trace_id)
        self.heading("the logs of that trace", f"wayfinder logs --trace {found.trace_id}", answer.link)
        self.say(render_logs(answer.value, width=max(140, shutil.get_terminal_size((140, 20)).columns)))
        self.pause()

    def _scope_step(self) -> None:
        from wayfinder.query.render import render_breakdown

        metric = self.answer.evidence.metric
        if metric is None:
            return
        name = base_name(metric.name)
        answer = self._breakdown(name, metric.by)
        command = f"wayfinder metrics {name} --by {metric.by} --window {self.window}"
        self.heading("the scope: one slice, or everywhere?", command, answer.link)
        self.say(render_breakdown(answer.value, f"{self.range_s / 60:g}m"))
        self.say(scope_verdict(metric, self.answer.scope, answer.value))
        self.pause()

    def _summary(self) -> None:
        self.say("\n== What the telemetry said")
        self.say(f"Root cause: {self.answer.root_cause}")
        self.say(f"Mitigation: {self.answer.mitigation}")
        self.say("The path, as commands:")
        for number, command in enumerate(self.path, start=1):
            self.say(f"  {number}. {command}")


def _unix_seconds(rfc3339: str) -> float | None:
    """Prometheus's activeAt (nanosecond RFC 3339) as Unix seconds; None when absent or odd."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", rfc3339)
    if match is None:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = datetime.fromisoformat(match.group(1) + zone).timestamp()
    return whole + float(match.group(2) or 0)


def _attributes(span: SpanRecord) -> str:
    skipped = ("url.", "network.", "user_agent", "db.query.text")
    shown = {k: v for k, v in span.attributes.items() if not k.startswith(skipped)}
    return " ".join(f"{k}={v}" for k, v in sorted(shown.items())) or "(none)"


def scope_verdict(metric: MetricEvidence, scope: object, breakdown: Breakdown) -> str:
    """What the breakdown says about scope, in words, judged as `wayfinder verify` judges it."""
    if not breakdown.series:
        return "No data in the window yet."
    ok = judge_scope(metric, scope, breakdown).ok
    affected = affected_value(metric, (s.label_value for s in breakdown.series))
    if affected is None:
        if ok:
            return "Every slice moved together: the cause is shared (fleet-wide), not one slice."
        return "The slices differ; compare them above."
    if ok and metric.falls:
        return f"Only {affected} went down: the rest kept answering."
    if ok:
        return f"Only {affected} stands out: regional (or slice-wide), not fleet-wide."
    return f"{affected} is not alone here; compare the slices above."
