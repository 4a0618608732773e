"""A drill's grade: what the trainee answered against the answer key (five stages, partial credit),
and how they got there against the ideal path (the walk's steps). Pure: the drill command gathers
the facts (the cited trace, the recorded path), this module judges them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wayfinder.promnames import label_name
from wayfinder.scenarios.model import Scenario
from wayfinder.store.model import SpanRecord

# Points per stage; the path grade is reported beside the score, not inside it.
WEIGHTS = {"detected": 10, "localized": 25, "scoped": 20, "root cause": 25, "evidence": 20}
HINT_COST = 0.15  # of the path grade, per hint
DEAD_END_COST = 0.05  # per look that is on no step of the ideal path
# A trace search is how one gets to a trace: never a dead end in itself.
LEADS_TO_A_STEP = {"traces"}

# The article's common mistakes, and the scenarios each would have made unfindable.
MISTAKES = {
    "context lost across the async hop": {"lost-trace-context", "redis-down", "invoice-failures-enterprise"},
    "a high-cardinality attribute (order id, user id) as a metric label": {"*"},
    "errors sampled away (head sampling, no tail policy)": {"sampling-trap", "invoice-failures-enterprise"},
    "logs without trace ids": {"provider-rate-limit-eu-west", "retry-storm", "redis-down"},
}


@dataclass(frozen=True)
class Given:
    """The trainee's answer."""

    service: str | None
    dependency: str | None
    scope: tuple[tuple[str, str], ...]  # LABEL=VALUE pairs; ("", "fleet-wide") for fleet-wide
    cause: str
    evidence: str | None  # a trace id


@dataclass(frozen=True)
class Step:
    """One step of the ideal path: the look that takes it, and the command to show."""

    what: str
    command: str
    match: dict[str, str] = field(default_factory=dict)

    def taken_by(self, look: dict[str, Any]) -> bool:
        return look.get("what") == self.what and all(look.get(k) == v for k, v in self.match.items())


@dataclass
class Grade:
    stages: dict[str, float]
    notes: dict[str, str]
    score: int
    path_grade: float
    taken: list[str]
    missed: list[str]
    dead_ends: list[str]
    hints: int
    answered_after_s: float
    # False in the compose stack: Grafana is where a trainee looks there, and it records nothing.
    path_graded: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "stages": self.stages,
            "notes": self.notes,
            "path_graded": self.path_graded,
            "path_grade": round(self.path_grade, 2) if self.path_graded else None,
            "ideal_steps_taken": self.taken,
            "ideal_steps_missed": self.missed,
            "dead_ends": self.dead_ends,
            "hints": self.hints,
            "answered_after_s": round(self.answered_after_s),
        }


def ideal_path(scenario: Scenario) -> list[Step]:
    """The walk's path for this scenario's answer key, as the looks that take each step."""
    answer = scenario.answer
    steps = []
    if answer.alert:
        steps.append(Step("alerts", "wayfinder alerts"))
    moved = _alert_metric(answer.alert) if answer.alert else None
    key = step_two_label(scenario, moved)
    if key is not None and moved:
        # The metric the alert reads, broken down as the walk's step 2 does (a scenario without an
        # alert has no such step there either).
        steps.append(Step("metrics", f"wayfinder metrics {moved} --by {key}", {"by": key}))
    metric = answer.evidence.metric
    span = answer.evidence.span
    if span is not None:
        flags = " ".join([f"--span {span.name}", *(f"--attr {k}={v}" for k, v in span.attributes.items())])
        steps.append(Step("trace", f"wayfinder traces {flags}; wayfinder trace ID"))
        if answer.evidence.log_pattern:
            steps.append(Step("logs", "wayfinder logs --trace ID"))
    if metric is not None:
        command = f"wayfinder metrics {metric.name} --by {metric.by}"
        if command not in (s.command for s in steps):  # step 2 already was this breakdown
            steps.append(Step("metrics", command, {"by": label_name(metric.by)}))
    return steps


# Scope keys whose label is not their own name: the queue is the `queue.name` attribute.
SCOPE_LABELS = {"queue": "queue_name"}


def scope_label(key: str) -> str:
    """The Prometheus label a scope key is broken down by (queue, queue.name, queue_name alike)."""
    label = label_name(key)
    return SCOPE_LABELS.get(label, label)


def step_two_label(scenario: Scenario, moved: str | None) -> str | None:
    """The label step 2 breaks the alert's metric (`moved`, as the navigation commands name it)
    down by, in the walk and the ideal path alike: the evidence's own label when the alert reads
    the evidence's metric; else the scope's label, or region to see whether every region moved;
    None for a SKU, which no metric label carries (the walk then breaks down by route)."""
    from wayfinder.scenarios.walk import base_name

    evidence = scenario.answer.evidence.metric
    if moved and evidence and base_name(moved) == base_name(evidence.name):
        return label_name(evidence.by)
    scope = scenario.answer.scope
    if isinstance(scope, dict):
        key = next(iter(scope))
        return None if key == "sku" else scope_label(key)
    return "region"


def _alert_metric(alert: str) -> str | None:
    """The metric an alert rule reads (prometheus/rules), as `wayfinder metrics` names it."""
    from wayfinder.local.config import find_project_root
    from wayfinder.scenarios.walk import alert_metric, base_name

    series = alert_metric(alert, find_project_root() / "prometheus" / "rules")
    return base_name(series) if series else None


def _normalised(look: dict[str, Any]) -> dict[str, Any]:
    if look.get("what") == "metrics" and look.get("by"):
        return {**look, "by": scope_label(str(look["by"]))}
    return look


def grade_path(
    steps: list[Step], looks: list[dict[str, Any]]
) -> tuple[list[Step], list[Step], list[str], int]:
    """(ideal steps taken in order, steps missed, dead ends, hints) of the recorded looks."""
    hints = sum(1 for look in looks if look.get("what") == "hint")
    taken: list[Step] = []
    dead_ends: list[str] = []
    position = 0
    for raw in looks:
        look = _normalised(raw)
        if look.get("what") == "hint":
            continue
        ahead = next((i for i in range(position, len(steps)) if steps[i].taken_by(look)), None)
        if ahead is not None:
            taken.append(steps[ahead])
            position = ahead + 1
        elif look.get("what") not in LEADS_TO_A_STEP and not any(s.taken_by(look) for s in steps):
            dead_ends.append(_describe(look))
    missed = [s for s in steps if s not in taken]
    return taken, missed, dead_ends, hints


def _describe(look: dict[str, Any]) -> str:
    detail = " ".join(f"{k}={v}" for k, v in sorted(look.items()) if k not in ("t", "what"))
    return f"{look.get('what')} {detail}".strip()


def evidence_holds(
    scenario: Scenario, spans: list[SpanRecord], fault_started_ns: int | None
) -> tuple[bool, str]:
    """Does the cited trace carry the answer key's signature, and did it start after the fault?"""
    wanted = scenario.answer.evidence.span
    if wanted is None:
        return True, "this scenario's evidence is a metric, not a trace"
    if not spans:
        return False, "the cited trace is not in the telemetry"
    rooted = " starting its own trace" if wanted.starts_trace else ""
    signature = [
        span
        for span in spans
        if span.name == wanted.name
        and span.service_name == wanted.service
        and not (wanted.starts_trace and span.parent_span_id)
        and all(span.attributes.get(k) == v for k, v in wanted.attributes.items())
    ]
    if not signature:
        described = f"{wanted.name} span in {wanted.service} with {_pairs(wanted.attributes)}{rooted}"
        return False, f"no {described} in that trace"
    # The signature span, not the trace, must come after the fault: a checkout already under way
    # when the fault began and then refused by it is evidence; one from before is not.
    if fault_started_ns is not None and all(s.start_unix_nano < fault_started_ns for s in signature):
        return False, "the cited trace's evidence is from before the fault began"
    return True, f"{wanted.name} in {wanted.service} with {_pairs(wanted.attributes)}{rooted}"


def _pairs(attributes: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in attributes.items()) or "any attributes"


def grade(
    scenario: Scenario,
    given: Given,
    evidence: tuple[bool, str],
    looks: list[dict[str, Any]],
    answered_after_s: float,
    path_graded: bool = True,
) -> Grade:
    answer = scenario.answer
    stages: dict[str, float] = {}
    notes: dict[str, str] = {}
    incident = answer.cause != "none"
    said_incident = given.cause != "none"
    stages["detected"] = 1.0 if said_incident == incident else 0.0
    notes["detected"] = "something was wrong" if incident else "nothing was wrong"
    if not incident:
        right = not said_incident
        for stage in ("localized", "scoped", "root cause", "evidence"):
            stages[stage] = 1.0 if right else 0.0
        notes["root cause"] = answer.root_cause
    else:
        hits = [
            given.service == answer.service,
            bool(answer.dependency) and given.dependency == answer.dependency,
        ]
        named = {given.service, given.dependency} - {None}
        either = bool(named & {answer.service, answer.dependency} - {None})
        stages["localized"] = (
            1.0 if all(hits) or (either and not answer.dependency) else 0.5 if either else 0.0
        )
        notes["localized"] = f"{answer.service}" + (f" -> {answer.dependency}" if answer.dependency else "")
        stages["scoped"], notes["scoped"] = _scope_credit(answer.scope, given.scope)
        stages["root cause"] = 1.0 if given.cause == answer.cause else 0.0
        notes["root cause"] = f"{answer.cause}: {answer.root_cause}"
        stages["evidence"] = 1.0 if given.evidence and evidence[0] else 0.0
        notes["evidence"] = evidence[1] if given.evidence else "no trace cited"
    score = round(sum(WEIGHTS[s] * credit for s, credit in stages.items()))
    steps = ideal_path(scenario)
    taken, missed, dead_ends, hints = grade_path(steps, looks)
    followed = len(taken) / len(steps) if steps else 1.0
    path_grade = max(0.0, followed - HINT_COST * hints - DEAD_END_COST * len(dead_ends))
    return Grade(
        stages,
        notes,
        score,
        path_grade,
        [s.command for s in taken],
        [s.command for s in missed],
        dead_ends,
        hints,
        answered_after_s,
        path_graded,
    )


def _scope_credit(scope: Any, given: tuple[tuple[str, str], ...]) -> tuple[float, str]:
    if scope == "fleet-wide":
        right = any(v == "fleet-wide" for _, v in given)
        return (1.0 if right else 0.0), "fleet-wide"
    if not isinstance(scope, dict):
        return (1.0 if not given else 0.0), "no scope"
    wanted = {(scope_label(k), v) for k, v in scope.items()}
    said = {(scope_label(k), v) for k, v in given}
    expected = ", ".join(f"{k}={v}" for k, v in sorted(wanted))
    if said == wanted:
        return 1.0, expected
    if wanted <= said:
        return 0.5, f"{expected} (plus a slice that was fine)"
    if {k for k, _ in wanted} & {k for k, _ in said}:
        return 0.25, f"{expected} (the right dimension, not the right value)"
    return 0.0, expected


def debrief(scenario: Scenario, result: Grade) -> list[str]:
    """What the trainee reads after answering: score, stages, the ideal path and the divergence."""
    after = f"answered after {result.answered_after_s:.0f} s"
    path = f"path {result.path_grade:.0%}" if result.path_graded else "path not graded"
    lines = [f"Score {result.score}/100, {path}, {after}."]
    lines.append(f"The incident: {scenario.name} ({scenario.title}).")
    for stage, credit in result.stages.items():
        mark = "ok " if credit == 1 else "~  " if credit > 0 else "no "
        note = result.notes.get(stage, "")
        lines.append(f"  {mark}{stage:<11} {credit:.2f}  {note}")
    steps = ideal_path(scenario)
    lines.append("The ideal path:")
    lines += [f"  {n}. {s.command}" for n, s in enumerate(steps, start=1)]
    if not result.path_graded:
        lines.append(
            "Your path was not graded: in the compose stack you look in Grafana, which records"
            " nothing here (local mode's terminal commands are recorded). Compare it with the above."
        )
    elif result.missed:
        lines.append("Where your path diverged: you skipped " + "; ".join(result.missed) + ".")
    if result.dead_ends:
        lines.append("Looks that led nowhere here: " + "; ".join(result.dead_ends) + ".")
    if result.hints:
        lines.append(f"Hints used: {result.hints}.")
    lines.append("What made it findable: " + _findable(scenario))
    unfindable = [m for m, names in MISTAKES.items() if "*" in names or scenario.name in names]
    lines.append("What would have made it unfindable: " + "; ".join(unfindable) + ".")
    lines.append(f"Mitigation: {scenario.answer.mitigation}")
    return lines


def _findable(scenario: Scenario) -> str:
    evidence = scenario.answer.evidence
    parts = []
    if evidence.metric is not None:
        parts.append(f"{evidence.metric.name} carries {evidence.metric.by} as a bounded label")
    if evidence.span is not None:
        parts.append(f"{evidence.span.name} spans carry {_pairs(evidence.span.attributes)}")
    if evidence.log_pattern:
        parts.append("the logs carry the trace id, so one trace's logs are one query away")
    return "; ".join(parts) + "." if parts else "the absence of any signal that moved."
