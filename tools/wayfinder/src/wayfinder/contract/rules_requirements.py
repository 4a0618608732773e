"""Per-span attribute lists: a span carries every attribute its entry requires, and no other.

`conditionally_required` attributes depend on a condition the registry states in words (the
loader refuses one without it), and `recommended` ones are optional, so neither can be judged
from a single span; `required` can, on every span of that name. The other direction keeps the
list honest: an attribute the entry does not name is reported even when its key is registered
for spans in general, so a span's row in docs/telemetry.md says what a reader will find on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from wayfinder.contract.model import Registry, SpanDef
from wayfinder.contract.report import Violation
from wayfinder.contract.sites import Telemetry, on_span


def span_required_missing(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for span in t.spans:
        defs = _defs(reg, span.name, span.kind)
        if not defs:
            continue  # unregistered names have their own rule
        missing = [[key for key in d.required if key not in span.attributes] for d in defs]
        if any(not keys for keys in missing):
            continue  # one definition the span fully satisfies is enough
        for key in missing[0]:
            yield on_span(
                span,
                "span.attribute.required_missing",
                f"{key} is required on every {defs[0].display_name} span",
                key,
            )


def span_attribute_undeclared(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for span in t.spans:
        defs = _defs(reg, span.name, span.kind)
        declared = {key for d in defs for key in d.attributes}
        for key in span.attributes:
            # Unregistered keys and unregistered names have their own rules.
            if defs and key in reg.attributes and key not in declared:
                yield on_span(
                    span,
                    "span.attribute.undeclared",
                    f"{key} is not declared for {defs[0].display_name} spans",
                    key,
                )


def _defs(reg: Registry, name: str, kind: str) -> list[SpanDef]:
    named = reg.span_defs_for(name)
    # Kind mismatches have their own rule; judge against the definitions of this kind if any.
    return [d for d in named if d.kind == kind] or named
