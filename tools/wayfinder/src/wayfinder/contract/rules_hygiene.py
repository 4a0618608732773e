"""Rules for what must never be emitted, whatever the registry says: the article's "weak attributes".

Personal data (emails, card numbers, card tokens) is searched in EVERY value: span, event,
log, metric and resource attributes, span names, span status messages and log bodies, since a
leak through an undeclared place is still a leak. Stack traces may live in exactly one
attribute, `exception.stacktrace`, on the `exception` span event or on a log record
(`log.exception`): the places OpenTelemetry's exception conventions define for them. Anywhere
else a traceback is a high-cardinality blob that belongs in that event or in the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from wayfinder.contract.model import Registry
from wayfinder.contract.patterns import (
    card_numbers,
    card_tokens,
    emails,
    id_in_span_name,
    is_stack_trace,
    texts,
)
from wayfinder.contract.report import Violation
from wayfinder.contract.sites import (
    Site,
    Telemetry,
    attribute_sites,
    on_span,
    unique_resources,
    violation_at,
)


def span_name_high_cardinality(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for span in t.spans:
        reason = id_in_span_name(span.name)
        if reason is not None:
            message = f"the name {reason}: name the operation (a route template) and put ids in attributes"
            yield on_span(span, "span.name.high_cardinality", message)


def pii_email(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    return _personal_data(t, "pii.email", "an email address", EMAIL)


def pii_card_number(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    return _personal_data(t, "pii.card_number", "a card number", CARD_NUMBER)


def pii_card_token(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    return _personal_data(t, "pii.card_token", "a card token", CARD_TOKEN)


EMAIL, CARD_NUMBER, CARD_TOKEN = "email", "card number", "card token"


@lru_cache(maxsize=1 << 16)
def _kinds(text: str) -> frozenset[str]:
    """Which kinds of personal data one string holds: the three detectors, run once per string."""
    found = {EMAIL} if emails(text) else set()
    if card_numbers(text):
        found.add(CARD_NUMBER)
    if card_tokens(text):
        found.add(CARD_TOKEN)
    return frozenset(found)


def _leaks(t: Telemetry) -> list[tuple[Site, str | None, str, frozenset[str]]]:
    """The text places holding personal data, found in one pass shared by the three rules."""
    cached = t.memo.get("leaks")
    if cached is None:
        cached = t.memo["leaks"] = [
            (site, key, place, kinds)
            for site, key, place, strings in t.text_values
            if (kinds := frozenset().union(*(_kinds(text) for text in strings)))
        ]
    return cached


def attribute_stacktrace(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for site in attribute_sites(t):
        for key, value in site.attributes.items():
            attribute = reg.attributes.get(key)
            if attribute is not None and attribute.stacktrace_allowed and site.signal in attribute.allowed_on:
                continue
            if any(is_stack_trace(text) for text in texts(value)):
                message = f"{key} holds a stack trace: record the exception (span event or log.exception)"
                yield violation_at(site, "attribute.stacktrace", key, message)


def resource_required_missing(t: Telemetry, reg: Registry) -> Iterator[Violation]:
    for service, resource in unique_resources(t).values():
        for key in reg.resource_required:
            value = resource.get(key)
            # The SDK's fallback "unknown_service[:python]" means nobody set the name on purpose.
            defaulted = key == "service.name" and str(value).startswith("unknown_service")
            if value in (None, "") or defaulted:
                what = f"{key} is the SDK default {value!r}" if defaulted else f"{key} is missing"
                yield Violation(
                    "resource.required_missing",
                    f"{what}: set it explicitly in the resource",
                    service,
                    "resources",
                    "resource",
                    key,
                )


def _personal_data(t: Telemetry, rule: str, what: str, kind: str) -> Iterator[Violation]:
    for site, key, place, kinds in _leaks(t):
        if kind in kinds:
            yield violation_at(site, rule, key, f"{what} in {place}")
