"""Parse one attribute definition (Weaver syntax plus Wayfinder annotations) and police its shape.

The annotations this project adds under `annotations: {wayfinder: ...}`:
  allowed_on          spans | span_events | logs | metrics | resources (at least one)
  pii                 could the value carry personal data? (true/false, required)
  cardinality_budget  max distinct values per service (per metric) in the check window, or
                      `unbounded`; required unless the type is an enum (values are the bound)
  stacktrace_allowed  the one attribute a traceback may live in (exception.stacktrace)
"""

from __future__ import annotations

from typing import Any

from wayfinder.contract.model import ATTRIBUTE_TYPES, SIGNALS, AttributeDef, EnumValue


class RegistryError(ValueError):
    """The registry is not a usable contract; `problems` lists every issue found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("telemetry registry is invalid:\n  " + "\n  ".join(problems))
        self.problems = problems


def parse_attribute(raw: dict[str, Any], source: str, where: str, errors: list[str]) -> AttributeDef | None:
    """An AttributeDef, or None after appending to `errors` what is wrong with it."""
    key = str(raw.get("id", ""))
    where = f"{where}: attribute {key or '?'}"
    if not key:
        errors.append(f"{where}: has neither id nor ref")
        return None
    type_name, values = _type(raw.get("type"), where, errors)
    notes = ((raw.get("annotations") or {}).get("wayfinder")) or {}
    allowed_on = frozenset(notes.get("allowed_on") or ())
    if not allowed_on or not allowed_on <= set(SIGNALS):
        errors.append(f"{where}: annotations.wayfinder.allowed_on must list some of {SIGNALS}")
    pii = notes.get("pii")
    if not isinstance(pii, bool):
        errors.append(f"{where}: annotations.wayfinder.pii must be true or false")
    budget = _budget(notes.get("cardinality_budget"), bool(values), where, errors)
    if (budget is None and not values) and allowed_on & {"metrics", "resources"}:
        errors.append(f"{where}: an unbounded attribute cannot be allowed on metrics or resources")
    if pii and "metrics" in allowed_on:
        errors.append(f"{where}: an attribute that could carry personal data cannot be a metric label")
    if not raw.get("stability"):
        errors.append(f"{where}: needs a stability")
    if type_name in ("string", "string[]") and source == "wayfinder" and not raw.get("examples"):
        errors.append(f"{where}: string attributes need examples (Weaver requires them)")
    examples = raw.get("examples")
    return AttributeDef(
        key=key,
        type=type_name,
        brief=" ".join(str(raw.get("brief", "")).split()),
        stability=str(raw.get("stability", "")),
        source=source,
        allowed_on=allowed_on,
        pii=bool(pii),
        cardinality_budget=budget,
        enum_values=values,
        examples=tuple(examples) if isinstance(examples, list) else (() if examples is None else (examples,)),
        stacktrace_allowed=bool(notes.get("stacktrace_allowed", False)),
    )


def _type(raw: Any, where: str, errors: list[str]) -> tuple[str, tuple[EnumValue, ...]]:
    if isinstance(raw, dict):
        members = raw.get("members") or []
        values = tuple(m["value"] for m in members if isinstance(m, dict) and "value" in m)
        if not values or len(values) != len(members):
            errors.append(f"{where}: an enum type needs members, each with an id and a value")
        return "enum", values
    if raw not in ATTRIBUTE_TYPES or raw == "enum":
        errors.append(f"{where}: type {raw!r} is not one of {ATTRIBUTE_TYPES[:-1]} or an enum")
        return "any", ()
    return str(raw), ()


def _budget(raw: Any, is_enum: bool, where: str, errors: list[str]) -> int | None:
    if is_enum:
        if raw is not None:
            errors.append(f"{where}: an enum is bounded by its members; drop cardinality_budget")
        return None
    if raw == "unbounded":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        errors.append(
            f"{where}: needs annotations.wayfinder.cardinality_budget (a positive int or 'unbounded')"
        )
        return None
    return raw
