"""The telemetry under check, and every place in it that carries attributes.

Rules walk `attribute_sites` instead of each signal's record type, so "is this key registered?"
is written once for spans, span events, logs, metric points and resources alike. Resources are
visited once per distinct resource, not once per record that repeats it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from wayfinder.contract.patterns import safe, texts, with_ids_elided
from wayfinder.contract.report import Violation
from wayfinder.store.model import LogRecordRow, MetricPoint, SpanRecord

Resources = dict[str, tuple[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class Telemetry:
    spans: Sequence[SpanRecord]
    logs: Sequence[LogRecordRow]
    metric_points: Sequence[MetricPoint]
    # The distinct resources to judge, when a streaming check already judged the others in
    # earlier chunks; None: every resource of these records.
    resources: Resources | None = None
    # Results the rules compute once per chunk and share (a rule module's own cache).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def sites(self) -> list[Site]:
        """Every attribute site, built once and shared by all the rules that walk them."""
        return list(_attribute_sites(self))

    @cached_property
    def text_places(self) -> list[tuple[Site, str | None, str, Any]]:
        return list(_text_sites(self))

    @cached_property
    def attribute_values(self) -> list[tuple[Site, str, Any]]:
        """(site, key, value) for every attribute: the walk six rules share."""
        return [(site, key, value) for site in self.sites for key, value in site.attributes.items()]

    @cached_property
    def text_values(self) -> list[tuple[Site, str | None, str, tuple[str, ...]]]:
        """Every text place with the strings inside its value, for the three personal-data rules."""
        return [
            (site, key, place, (value,) if type(value) is str else tuple(texts(value)))
            for site, key, place, value in self.text_places
        ]

    def counts(self) -> dict[str, int]:
        return {
            "spans": len(self.spans),
            "logs": len(self.logs),
            "metric points": len(self.metric_points),
            "resources": len(unique_resources(self)),
            "traces": len({span.trace_id for span in self.spans}),
        }


class Site(NamedTuple):
    """One attribute map and where it came from (a tuple: a check builds millions of them)."""

    signal: str  # spans | span_events | logs | metrics | resources
    service: str
    subject: str
    attributes: Mapping[str, Any]
    trace_id: str | None = None
    span_id: str | None = None
    metric: str | None = None


def violation_at(site: Site, rule: str, attribute: str | None, message: str) -> Violation:
    """A violation located at a site: its service, signal, subject and example trace."""
    return Violation(
        rule, message, site.service, site.signal, site.subject, attribute, site.trace_id, site.span_id
    )


def on_span(span: SpanRecord, rule: str, message: str, attribute: str | None = None) -> Violation:
    """A violation located at a span: its service, its name with ids elided, its trace."""
    subject = safe(with_ids_elided(span.name))
    return Violation(
        rule, message, span.service_name, "spans", subject, attribute, span.trace_id, span.span_id
    )


def within(telemetry: Telemetry, window: timedelta | None) -> Telemetry:
    """Only what started within `window` of the newest record (not of the wall clock).

    Anchoring on the data keeps a check of an old capture reproducible. Spans are kept by start
    time, so a kept trace's root implies its descendants are kept too (they start after it).
    """
    if window is None:
        return telemetry
    newest = max(
        [s.end_unix_nano for s in telemetry.spans]
        + [r.time_unix_nano for r in telemetry.logs]
        + [p.time_unix_nano for p in telemetry.metric_points],
        default=0,
    )
    cutoff = newest - int(window.total_seconds() * 1e9)
    return Telemetry(
        [s for s in telemetry.spans if s.start_unix_nano >= cutoff],
        [r for r in telemetry.logs if r.time_unix_nano >= cutoff],
        [p for p in telemetry.metric_points if p.time_unix_nano >= cutoff],
    )


def log_subject(log: LogRecordRow) -> str:
    return f"{log.scope_name}: {safe(log.body, 40)}"


def unique_resources(telemetry: Telemetry) -> Resources:
    """Each distinct resource once, keyed by its canonical JSON: (service name, attributes)."""
    if telemetry.resources is not None:
        return telemetry.resources
    seen: Resources = {}
    records: list[SpanRecord | LogRecordRow | MetricPoint] = [
        *telemetry.spans,
        *telemetry.logs,
        *telemetry.metric_points,
    ]
    # Records read from a store share one parsed resource per distinct text: serialize each
    # object once (the records keep them alive, so an id is not reused meanwhile).
    keys: dict[int, str] = {}
    for record in records:
        key = keys.get(id(record.resource))
        if key is None:
            key = keys[id(record.resource)] = json.dumps(record.resource, sort_keys=True, default=str)
        if key not in seen:
            seen[key] = (record.service_name, record.resource)
    return seen


def attribute_sites(telemetry: Telemetry) -> list[Site]:
    return telemetry.sites


def text_sites(telemetry: Telemetry) -> list[tuple[Site, str | None, str, Any]]:
    """(site, attribute key or None, where in words, value) for every place text can hide in.

    Attribute values first, then the records' own text: span names, status messages, log bodies.
    """
    return telemetry.text_places


def _attribute_sites(telemetry: Telemetry) -> Iterator[Site]:
    for span in telemetry.spans:
        yield Site("spans", span.service_name, safe(span.name), span.attributes, span.trace_id, span.span_id)
        for event in span.events:
            subject = f"{safe(span.name)} > {event.name}"
            yield Site(
                "span_events", span.service_name, subject, event.attributes, span.trace_id, span.span_id
            )
    for log in telemetry.logs:
        yield Site("logs", log.service_name, log_subject(log), log.attributes, log.trace_id, log.span_id)
    for point in telemetry.metric_points:
        yield Site("metrics", point.service_name, point.name, point.attributes, metric=point.name)
    for service, resource in unique_resources(telemetry).values():
        yield Site("resources", service, "resource", resource)


def _text_sites(telemetry: Telemetry) -> Iterator[tuple[Site, str | None, str, Any]]:
    for site in attribute_sites(telemetry):
        for key, value in site.attributes.items():
            yield site, key, _value_of(key), value
    for span in telemetry.spans:
        site = Site("spans", span.service_name, safe(span.name), {}, span.trace_id, span.span_id)
        yield site, None, "the span name", span.name
        if span.status_message:
            yield site, None, "the span status message", span.status_message
    for log in telemetry.logs:
        site = Site("logs", log.service_name, log_subject(log), {}, log.trace_id, log.span_id)
        yield site, None, "the log body", log.body


@lru_cache(maxsize=4096)
def _value_of(key: str) -> str:
    return f"the value of {key}"
