"""The contract rules, one function per rule id, and the catalog `run_checks` runs.

This module holds the conformance rules for names, attributes and budgets (is every name, type,
value and budget the one the registry declares?); rules_metrics the metric shapes;
rules_hygiene what must never be emitted (personal data, ids in span names, stack traces,
anonymous resources); rules_requirements the per-span requirement levels; rules_traces the
trace-shape rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from wayfinder.contract.model import AttributeDef, Registry
from wayfinder.contract.patterns import shown
from wayfinder.contract.report import Violation
from wayfinder.contract.rules_hygiene import (
    attribute_stacktrace,
    pii_card_number,
    pii_card_token,
    pii_email,
    resource_required_missing,
    span_name_high_cardinality,
)
from wayfinder.contract.rules_metrics import (
    metric_instrument,
    metric_labels,
    metric_unit,
    metric_unregistered,
)
from wayfinder.contract.rules_requirements import span_attribute_undeclared, span_required_missing
from wayfinder.contract.rules_traces import AsyncHopTally, trace_async_context_lost, trace_orphan_span
from wayfinder.contract.sites import Site, Telemetry, on_span, violation_at


def span_name_unregistered(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for span in t.spans:
        if not reg.span_defs_for(span.name):
            yield on_span(span, "span.name.unregistered", "no span in the registry has this name")


def span_kind_mismatch(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for span in t.spans:
        kinds = {d.kind for d in reg.span_defs_for(span.name)}
        if kinds and span.kind not in kinds:
            yield on_span(
                span, "span.kind.mismatch", f"kind {span.kind}, the registry says {'/'.join(sorted(kinds))}"
            )


def span_error_undescribed(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    # The checklist's "errors recorded with enough detail to triage": a failed span must say why,
    # with a bounded error.type, an exception event, or at least a status message.
    for span in t.spans:
        exception = any(event.name == "exception" for event in span.events)
        described = "error.type" in span.attributes or span.status_message or exception
        if span.status_code == "ERROR" and not described:
            yield on_span(
                span, "span.error_undescribed", "status ERROR without error.type, exception event or message"
            )


def span_event_unregistered(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for span in t.spans:
        for event in span.events:
            if event.name not in reg.events:
                yield on_span(span, "span_event.unregistered", f"event {event.name!r} is not in the registry")


def attribute_unregistered(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for site, key, _ in _attributes(t):
        if key not in reg.attributes:
            renamed = reg.renamed.get(key)
            hint = (
                f" (pre-stable name of {renamed}: is OTEL_SEMCONV_STABILITY_OPT_IN=http,database set?)"
                if renamed
                else ""
            )
            yield violation_at(site, "attribute.unregistered", key, f"{key} is not in the registry{hint}")


def attribute_signal(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for site, key, _ in _attributes(t):
        attribute = reg.attributes.get(key)
        if attribute is not None and site.signal not in attribute.allowed_on:
            allowed = ", ".join(sorted(attribute.allowed_on))
            message = f"{key} may not appear on {site.signal} (allowed on {allowed})"
            yield violation_at(site, "attribute.signal", key, message)


def attribute_type(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for site, key, value in _attributes(t):
        attribute = reg.attributes.get(key)
        if attribute is not None and not _type_ok(attribute, value):
            expected = _expected_type(attribute)
            yield violation_at(
                site, "attribute.type", key, f"{key} must be {expected}, got {type(value).__name__}"
            )


def attribute_enum(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for site, key, value in _attributes(t):
        attribute = reg.attributes.get(key)
        if attribute is None or not attribute.enum_values or not _type_ok(attribute, value):
            continue  # unregistered and mistyped values have their own rules
        if value not in attribute.enum_values:
            allowed = ", ".join(map(str, attribute.enum_values[:8]))
            more = ", ..." if len(attribute.enum_values) > 8 else ""
            yield violation_at(
                site, "attribute.enum", key, f"{key}={shown(value)} is not one of {allowed}{more}"
            )


class CardinalityTally:
    """Distinct values per (signal, service, metric, key), gathered across chunks.

    A budget is per service and, on metrics, per metric, because that is what multiplies
    series and index size; only a count over all the data can say a budget was exceeded.
    """

    def __init__(self) -> None:
        self.distinct: dict[tuple[str, str, str, str], set[Any]] = {}
        self.examples: dict[tuple[str, str, str, str], Site] = {}

    def feed(self, t: Telemetry, reg: Registry) -> Iterator[Violation]:
        for site, key, value in _attributes(t):
            attribute = reg.attributes.get(key)
            if attribute is None or attribute.cardinality_budget is None:
                continue
            bucket = (site.signal, site.service, site.metric or "", key)
            self.distinct.setdefault(bucket, set()).add(_distinct_key(value))
            self.examples.setdefault(bucket, site)
        return iter(())

    def finish(self, reg: Registry) -> Iterator[Violation]:
        for bucket, values in self.distinct.items():
            budget = reg.attributes[bucket[3]].cardinality_budget or 0
            if len(values) > budget:
                site = self.examples[bucket]
                subject = bucket[2] or f"all {site.signal}"
                yield Violation(
                    "attribute.cardinality",
                    f"{bucket[3]} took {len(values)} distinct values, over its budget of {budget}",
                    site.service,
                    site.signal,
                    subject,
                    bucket[3],
                )


def _distinct_key(value: Any) -> Any:
    # Scalars as themselves (typed, so 1 and "1" stay apart); lists and maps as canonical JSON.
    if isinstance(value, str | int | float | bool):
        return (type(value).__name__, value)
    return json.dumps(value, sort_keys=True, default=str)


def attribute_cardinality(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    tally = CardinalityTally()
    yield from tally.feed(t, reg)
    yield from tally.finish(reg)


class Tally(Protocol):
    """A rule that needs all the data before it can judge: fed chunk by chunk, then finished."""

    def feed(self, t: Telemetry, reg: Registry) -> Iterable[Violation]: ...

    def finish(self, reg: Registry) -> Iterable[Violation]: ...


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    check: Callable[[Telemetry, Registry], Iterable[Violation]]
    # Rules that compare records across traces or count over everything; a streaming check
    # feeds them chunk by chunk. None: the rule judges each chunk on its own.
    tally: Callable[[], Tally] | None = None


RULES: tuple[Rule, ...] = (
    Rule("span.name.unregistered", "Span names not in the registry", span_name_unregistered),
    Rule("span.kind.mismatch", "Span kinds other than the registry's", span_kind_mismatch),
    Rule(
        "span.name.high_cardinality",
        "Span names embedding ids or raw URLs",
        span_name_high_cardinality,
    ),
    Rule(
        "span.attribute.required_missing",
        "Spans without an attribute their registry entry requires",
        span_required_missing,
    ),
    Rule(
        "span.attribute.undeclared",
        "Span attributes their registry entry does not list",
        span_attribute_undeclared,
    ),
    Rule("span.error_undescribed", "Failed spans that do not say why", span_error_undescribed),
    Rule("span_event.unregistered", "Span events not in the registry", span_event_unregistered),
    Rule("attribute.unregistered", "Attribute keys not in the registry", attribute_unregistered),
    Rule("attribute.signal", "Attributes on a signal they are not allowed on", attribute_signal),
    Rule("attribute.type", "Attribute values of the wrong type", attribute_type),
    Rule("attribute.enum", "Attribute values outside their allowed values", attribute_enum),
    Rule(
        "attribute.cardinality",
        "Attributes over their cardinality budget",
        attribute_cardinality,
        CardinalityTally,
    ),
    Rule("attribute.stacktrace", "Stack traces outside exception.stacktrace", attribute_stacktrace),
    Rule("metric.unregistered", "Metric names not in the registry", metric_unregistered),
    Rule("metric.instrument", "Metrics exported as another instrument", metric_instrument),
    Rule("metric.unit", "Metrics with another unit", metric_unit),
    Rule("metric.attribute_undeclared", "Metric labels not declared for the metric", metric_labels),
    Rule("pii.email", "Email addresses in telemetry", pii_email),
    Rule("pii.card_number", "Card numbers (Luhn-valid) in telemetry", pii_card_number),
    Rule("pii.card_token", "Card tokens (tok_...) in telemetry", pii_card_token),
    Rule("resource.required_missing", "Resources without name/version/env", resource_required_missing),
    Rule("trace.orphan_span", "Spans whose parent is missing from a rooted trace", trace_orphan_span),
    Rule(
        "trace.async_context_lost",
        "Async hops that started a new trace",
        trace_async_context_lost,
        AsyncHopTally,
    ),
)


def _attributes(t: Telemetry) -> list[tuple[Site, str, Any]]:
    return t.attribute_values


def _type_ok(attribute: AttributeDef, value: Any) -> bool:
    if attribute.type == "any":
        return True
    if attribute.type == "enum":
        return any(_scalar_ok(_python_type(member), value) for member in attribute.enum_values)
    if attribute.type.endswith("[]"):
        return isinstance(value, list) and all(_scalar_ok(attribute.type[:-2], item) for item in value)
    return _scalar_ok(attribute.type, value)


def _scalar_ok(type_name: str, value: Any) -> bool:
    if type_name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if type_name == "int":
        return isinstance(value, int)
    if type_name == "double":
        return isinstance(value, int | float)
    return type_name == "string" and isinstance(value, str)


def _python_type(member: Any) -> str:
    return "boolean" if isinstance(member, bool) else "int" if isinstance(member, int) else "string"


def _expected_type(attribute: AttributeDef) -> str:
    if attribute.type != "enum":
        return f"a {attribute.type}"
    return f"a {_python_type(attribute.enum_values[0])} (enum)"
