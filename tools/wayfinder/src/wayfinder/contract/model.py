"""The typed telemetry contract: what the registry YAML declares, as the checker and docs use it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Where an attribute may appear. Span events are separate from spans because the `exception`
# event is the one place a stack trace is allowed.
SIGNALS = ("spans", "span_events", "logs", "metrics", "resources")
SPAN_KINDS = ("internal", "server", "client", "producer", "consumer")
INSTRUMENTS = ("counter", "updowncounter", "histogram", "gauge")
SCALAR_TYPES = ("string", "int", "double", "boolean")
ATTRIBUTE_TYPES = (*SCALAR_TYPES, *(f"{t}[]" for t in SCALAR_TYPES), "any", "enum")

EnumValue = str | int | bool


@dataclass(frozen=True)
class AttributeDef:
    """One attribute: its type, and either its allowed values or its cardinality budget."""

    key: str
    type: str  # one of ATTRIBUTE_TYPES
    brief: str
    stability: str
    source: str  # "wayfinder" (declared in the registry) or "semconv" (referenced, typed offline)
    allowed_on: frozenset[str]
    pii: bool
    cardinality_budget: int | None  # None: unbounded (never on metrics or resources)
    enum_values: tuple[EnumValue, ...] = ()
    examples: tuple[object, ...] = ()
    stacktrace_allowed: bool = False

    @property
    def budget_text(self) -> str:
        if self.enum_values:
            return f"{len(self.enum_values)} values"
        return "unbounded" if self.cardinality_budget is None else str(self.cardinality_budget)


@dataclass(frozen=True)
class AsyncHop:
    """One end of an async boundary whose trace context must survive the hop."""

    role: str  # "producer" | "consumer"
    correlate_by: str  # the attribute both ends carry, e.g. order.id


@dataclass(frozen=True)
class SpanDef:
    id: str
    brief: str
    kind: str  # SpanRecord spelling: "INTERNAL", "SERVER", ...
    name: str | None  # the exact span name, or
    name_pattern: str | None  # a Python regex the whole name must match
    attributes: tuple[str, ...]
    services: tuple[str, ...]
    examples: tuple[str, ...] = ()
    async_hop: AsyncHop | None = None

    def matches(self, span_name: str) -> bool:
        if self.name is not None:
            return span_name == self.name
        return self.name_pattern is not None and re.fullmatch(self.name_pattern, span_name) is not None

    @property
    def display_name(self) -> str:
        return self.name if self.name is not None else f"/{self.name_pattern}/"


@dataclass(frozen=True)
class MetricDef:
    name: str
    brief: str
    instrument: str  # one of INSTRUMENTS
    unit: str
    attributes: tuple[str, ...]
    services: tuple[str, ...]
    source: str  # "wayfinder" (declared) or "semconv" (imported, shape mirrored offline)


@dataclass(frozen=True)
class EventDef:
    name: str
    brief: str
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class StdoutField:
    field: str
    otlp: str
    brief: str


@dataclass(frozen=True)
class Registry:
    name: str
    version: str
    semconv_version: str
    root: Path
    attributes: Mapping[str, AttributeDef]
    spans: tuple[SpanDef, ...]
    metrics: Mapping[str, MetricDef]
    events: Mapping[str, EventDef]
    resource_required: tuple[str, ...]
    resource_attributes: tuple[str, ...]
    log_attributes: tuple[str, ...]
    stdout_fields: tuple[StdoutField, ...]
    renamed: Mapping[str, str]
    _span_defs: dict[str, list[SpanDef]] = field(default_factory=dict, compare=False, repr=False)

    def span_defs_for(self, span_name: str) -> list[SpanDef]:
        # Asked once per span per rule: remember the answer for each distinct name.
        found = self._span_defs.get(span_name)
        if found is None:
            found = self._span_defs[span_name] = [span for span in self.spans if span.matches(span_name)]
        return found

    def async_spans(self, role: str) -> list[SpanDef]:
        return [s for s in self.spans if s.async_hop is not None and s.async_hop.role == role]
