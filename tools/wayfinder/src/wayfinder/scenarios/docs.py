"""docs/scenarios/<name>.md, rendered from the scenario files (a test keeps them current)."""

from __future__ import annotations

from pathlib import Path

from wayfinder_common.faulthooks import HOOKS

from wayfinder.scenarios.model import Scenario


def _scope(scenario: Scenario) -> str:
    scope = scenario.answer.scope
    return scope if isinstance(scope, str) else ", ".join(f"`{k}={v}`" for k, v in scope.items())


def _what_happens(s: Scenario) -> list[str]:
    first = min([f.timeline.start_s for f in s.faults] + [a.at_s for a in s.actions], default=None)
    minutes = s.load.duration_s / 60
    lines = [f"- Load: about {s.load.rate_per_s:g} checkouts a second for {minutes:g} minutes (real speed)."]
    if first is None:
        lines.append("- Nothing is switched on: the load runs against a healthy shop.")
    else:
        lines.append(
            f"- About {first / 60:g} minute(s) in (a seeded run moves it a little), something changes."
        )
    lines.append(
        f"- You get: the alert `{s.alert}`."
        if s.alert
        else f"- No alert is expected: you get a {s.told.kind}."
    )
    lines.append("- At `--speed 10` every time above is divided by ten and the training-speed rules")
    lines.append("  (prometheus/rules-training) fire within about 90 s of the change.")
    return lines


def _evidence(s: Scenario) -> list[str]:
    e, lines = s.answer.evidence, []
    if e.span:
        attrs = ", ".join(f"`{k}={v}`" for k, v in e.span.attributes.items()) or "(no attribute filter)"
        rooted = ", starting its own trace (no parent)" if e.span.starts_trace else ""
        lines.append(f"- Span: `{e.span.name}` in `{e.span.service}` with {attrs}{rooted}.")
    if e.log_pattern:
        lines.append(f'- Logs of that trace: "{e.log_pattern}".')
    if e.metric:
        names = [e.metric.affected] if isinstance(e.metric.affected, str) else e.metric.affected or []
        way = "falls while the rest stay up" if e.metric.falls else "stands out"
        affected = f", {' or '.join(f'`{n}`' for n in names)} {way}" if names else ""
        where = "".join(f", where `{k}={v}`" for k, v in e.metric.where.items())
        lines.append(f"- Metric: `{e.metric.name}` broken down by `{e.metric.by}`{where}{affected}.")
    if e.sampled:
        attrs = ", ".join(f"`{k}={v}`" for k, v in e.sampled.span.attributes.items())
        lines.append(
            f"- Sampled: of the events that metric counts, at most {e.sampled.at_most:.0%} have a trace"
            f" holding `{e.sampled.span.name}` with {attrs}: the count is in the metric, not in the traces."
        )
    return lines


def _switches(s: Scenario) -> list[str]:
    lines = []
    for f in s.faults:
        t = f.timeline
        params = ", ".join(f"{k}={v}" for k, v in f.params.items())
        lines.append(
            f"- Hook `{f.hook}` ({HOOKS[f.hook].doc}) on scope `{f.scope}` with {params}: from "
            f"{t.start_s:g} s (+ up to {t.start_jitter_s:g} s seeded), ramp {t.ramp_s:g} s in "
            f"{t.steps} step(s), hold {t.hold_s:g} s, recover {t.recover_s:g} s."
        )
    for a in s.actions:
        extra = f" as version {a.version}" if a.version else ""
        extra += f" with sampler {a.sampler} {a.sampler_ratio:g}" if a.sampler and a.sampler_ratio else ""
        lines.append(f"- At {a.at_s:g} s: {a.kind} `{a.component}`{extra}.")
    return lines or ["- Nothing: load only."]


def render(s: Scenario) -> str:
    a = s.answer
    parts = [
        f"# {s.title}",
        "",
        f"Scenario `{s.name}` ({s.difficulty}). Run it: `wayfinder scenario start {s.name} --speed 10`;",
        "stop it: `wayfinder scenario stop`. Generated from "
        f"`scenarios/{s.name}.yaml` by `wayfinder scenario docs --write`.",
        "",
        "## What you are told",
        "",
        f"{s.told.kind.capitalize()}: {s.told.text}",
        "",
        "## What happens",
        "",
        *_what_happens(s),
        "",
        "---",
        "",
        "## For trainers: the answer (do not show a trainee before the debrief)",
        "",
        f"- Alert: {f'`{a.alert}`' if a.alert else 'none'}",
        f"- Scope: {_scope(s)}",
        f"- Where: service `{a.service}`"
        + (f", dependency `{a.dependency}`" if a.dependency else "")
        + (f", span `{a.span}`" if a.span else ""),
        f"- Cause category: `{a.cause}`",
        f"- Root cause: {a.root_cause}",
        f"- Mitigation: {a.mitigation}",
        "",
        "### Evidence",
        "",
        *_evidence(s),
        "",
        "### What the runner switches",
        "",
        *_switches(s),
        "",
    ]
    return "\n".join(parts)


def generate(scenarios: dict[str, Scenario], docs_dir: Path) -> dict[Path, str]:
    return {docs_dir / f"{name}.md": render(s) for name, s in scenarios.items()}
