"""What the checker found: violations folded into findings, rendered as text grouped by rule or JSON.

The same violation on a thousand spans is one finding with a count and one example trace, so a
report stays readable after a load test. Messages never carry a raw personal value: rules mask
what they quote (see patterns.shown).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Violation:
    """One breach of the contract, naming what broke it: service, signal, subject, attribute."""

    rule: str
    message: str
    service: str
    signal: str  # spans | span_events | logs | metrics | resources | traces
    subject: str  # span name, metric name, log line, "resource", trace
    attribute: str | None = None
    trace_id: str | None = None
    span_id: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return (self.rule, self.service, self.signal, self.subject, self.attribute or "", self.message)


@dataclass(frozen=True)
class Finding:
    """A distinct violation and how many records repeated it."""

    violation: Violation
    count: int


class Findings:
    """Violations folded as they arrive: memory grows with distinct findings, not with records.

    The example kept for a finding is the smallest (trace, span) among its violations, so the
    report does not depend on the order the records were read in (whole or streamed).
    """

    def __init__(self) -> None:
        self._example: dict[tuple[str, ...], Violation] = {}
        self._count: dict[tuple[str, ...], int] = {}

    def add(self, violations: Iterable[Violation]) -> None:
        for violation in violations:
            key = violation.key
            current = self._example.get(key)
            if current is None or _example_order(violation) < _example_order(current):
                self._example[key] = violation
            self._count[key] = self._count.get(key, 0) + 1

    def report(self, titles: Mapping[str, str], checked: Mapping[str, int]) -> Report:
        ordered = sorted(self._example, key=lambda k: (k[0], k[1], k[3], k[4], k[5]))
        findings = tuple(Finding(self._example[k], self._count[k]) for k in ordered)
        return Report(findings, dict(titles), dict(checked))


def _example_order(violation: Violation) -> tuple[str, str]:
    return (violation.trace_id or "", violation.span_id or "")


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    titles: Mapping[str, str]  # rule id -> one-line description
    checked: Mapping[str, int] = field(default_factory=dict)  # what was looked at, by kind

    @classmethod
    def build(
        cls, violations: Iterable[Violation], titles: Mapping[str, str], checked: Mapping[str, int]
    ) -> Report:
        findings = Findings()
        findings.add(violations)
        return findings.report(titles, checked)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def rules_violated(self) -> list[str]:
        return sorted({f.violation.rule for f in self.findings})

    def by_rule(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {}
        for finding in self.findings:
            grouped.setdefault(finding.violation.rule, []).append(finding)
        return grouped


def render_text(report: Report) -> str:
    """A report a reviewer reads top to bottom: one section per violated rule."""
    looked_at = ", ".join(f"{n} {kind}" for kind, n in report.checked.items())
    if report.ok:
        return f"Telemetry contract: OK, no violations (checked {looked_at}).\n"
    lines = [
        f"Telemetry contract: {len(report.findings)} violation(s) of {len(report.rules_violated)} "
        f"rule(s) (checked {looked_at}).",
    ]
    for rule, findings in report.by_rule().items():
        lines += ["", f"[{rule}] {report.titles.get(rule, '')} ({len(findings)})"]
        for finding in findings:
            v = finding.violation
            where = f"{v.service} {_signal_noun(v.signal)} {v.subject!r}"
            attribute = f" [{v.attribute}]" if v.attribute else ""
            seen = f" x{finding.count}" if finding.count > 1 else ""
            example = f" (e.g. trace {v.trace_id})" if v.trace_id else ""
            lines.append(f"  - {where}{attribute}: {v.message}{seen}{example}")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    """The same report for machines: stable keys, one object per finding."""
    document = {
        "ok": report.ok,
        "checked": dict(report.checked),
        "violation_count": len(report.findings),
        "rules": {
            rule: {
                "title": report.titles.get(rule, ""),
                "violations": [{**asdict(f.violation), "count": f.count} for f in findings],
            }
            for rule, findings in report.by_rule().items()
        },
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _signal_noun(signal: str) -> str:
    return {
        "spans": "span",
        "span_events": "span event",
        "logs": "log",
        "metrics": "metric",
        "resources": "",
        "traces": "trace",
    }.get(signal, signal)
