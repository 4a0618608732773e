"""Load telemetry/registry/ (Weaver's YAML format) into the typed model, refusing a sloppy contract.

Weaver resolves `ref:`s against the upstream semantic-conventions registry, which needs a
download; the hidden `.semconv/attributes.yaml` mirrors the type and Wayfinder annotations of
every referenced attribute and imported metric so this loader works offline. Weaver skips
dot-directories, so the mirror never collides with upstream. Beyond parsing, the loader checks
what makes the contract usable: every attribute has a type, values or a budget, and a PII flag;
every `ref` resolves; no unbounded or personal attribute is allowed on metrics.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from wayfinder.contract.attributes import RegistryError, parse_attribute
from wayfinder.contract.model import (
    INSTRUMENTS,
    REQUIREMENT_LEVELS,
    SPAN_KINDS,
    AsyncHop,
    AttributeDef,
    EventDef,
    MetricDef,
    Registry,
    Requirement,
    SpanDef,
    StdoutField,
)

MANIFEST = "registry_manifest.yaml"
OFFLINE = Path(".semconv") / "attributes.yaml"
# Which signal each kind of group puts its referenced attributes on.
_GROUP_SIGNAL = {"span": "spans", "metric": "metrics", "event": "span_events", "entity": "resources"}

__all__ = ["MANIFEST", "OFFLINE", "Registry", "RegistryError", "group_files", "load_registry"]


def group_files(root: Path) -> list[Path]:
    """The group files Weaver would read: YAML, not hidden, not the manifest."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix in (".yaml", ".yml")
        and path.name != MANIFEST
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def load_registry(root: str | Path) -> Registry:
    """Parse and validate the registry; raises RegistryError listing every problem found."""
    root = Path(root)
    errors: list[str] = []
    manifest = _read(root / MANIFEST)
    offline = _read(root / OFFLINE)
    attributes: dict[str, AttributeDef] = {}
    for raw in offline.get("attributes") or []:
        _add(attributes, parse_attribute(raw, "semconv", f"{OFFLINE}", errors), errors)
    builder = _Builder(attributes, errors)
    for path in group_files(root):
        document = _read(path)
        for group in document.get("groups") or []:
            builder.add_group(group, path.relative_to(root).as_posix())
        builder.imported |= set((document.get("imports") or {}).get("metrics") or [])
    builder.add_offline_metrics(offline.get("metrics") or [])
    builder.validate()
    if errors:
        raise RegistryError(errors)
    return Registry(
        name=str(manifest.get("name", "")),
        version=str(manifest.get("semconv_version", "")),
        semconv_version=str(offline.get("semconv_version", "")),
        root=root,
        attributes=attributes,
        spans=tuple(builder.spans),
        metrics=builder.metrics,
        events=builder.events,
        resource_required=tuple(builder.resource_required),
        resource_attributes=tuple(builder.refs["resources"]),
        log_attributes=tuple(builder.refs["logs"]),
        stdout_fields=tuple(builder.stdout_fields),
        renamed={str(k): str(v) for k, v in (offline.get("renamed") or {}).items()},
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as exc:
        raise RegistryError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise RegistryError([f"{path}: not valid YAML: {exc}"]) from exc
    return document if isinstance(document, dict) else {}


def _add(attributes: dict[str, AttributeDef], attribute: AttributeDef | None, errors: list[str]) -> None:
    if attribute is None:
        return
    if attribute.key in attributes:
        errors.append(f"attribute {attribute.key} is defined twice")
    attributes[attribute.key] = attribute


def _requirement(raw: dict[str, Any], where: str, errors: list[str]) -> Requirement:
    """Weaver's `requirement_level`: a bare level, or a one-key mapping of a level to its note."""
    key, level = str(raw["ref"]), raw.get("requirement_level", "recommended")
    condition = ""
    if isinstance(level, dict) and len(level) == 1:
        level, note = next(iter(level.items()))
        condition = str(note or "").strip()
    if level not in REQUIREMENT_LEVELS:
        errors.append(f"{where}: {key} has requirement_level {level!r}, not one of {REQUIREMENT_LEVELS}")
    elif level == "conditionally_required" and not condition:
        # A condition nobody wrote down cannot be checked by a reader or a reviewer.
        errors.append(f"{where}: {key} is conditionally_required without saying when")
    return Requirement(key, str(level), condition)


def _wayfinder(raw: dict[str, Any]) -> dict[str, Any]:
    return ((raw.get("annotations") or {}).get("wayfinder")) or {}


class _Builder:
    """Collects groups file by file, then cross-checks references against allowed signals."""

    def __init__(self, attributes: dict[str, AttributeDef], errors: list[str]) -> None:
        self.attributes = attributes
        self.errors = errors
        self.spans: list[SpanDef] = []
        self.metrics: dict[str, MetricDef] = {}
        self.events: dict[str, EventDef] = {}
        self.resource_required: list[str] = []
        self.stdout_fields: list[StdoutField] = []
        self.imported: set[str] = set()
        # signal -> attribute keys referenced by groups of that signal, in declaration order
        self.refs: dict[str, list[str]] = defaultdict(list)
        self._ref_sites: list[tuple[str, str, str]] = []  # (key, signal, where)

    def add_group(self, group: dict[str, Any], file: str) -> None:
        where = f"{file}: group {group.get('id', '?')}"
        refs: list[str] = []
        for raw in group.get("attributes") or []:
            if "ref" in raw:
                refs.append(str(raw["ref"]))
                if raw.get("requirement_level") == "required" and group.get("type") == "entity":
                    self.resource_required.append(str(raw["ref"]))
            else:
                _add(self.attributes, parse_attribute(raw, "wayfinder", where, self.errors), self.errors)
        kind = group.get("type")
        signal = _GROUP_SIGNAL.get(str(kind)) or (
            "logs" if _wayfinder(group).get("signal") == "logs" else None
        )
        if signal is not None:
            self._reference(refs, signal, where)
        if kind == "span":
            self._add_span(group, refs, where)
        elif kind == "metric":
            self._add_metric(group, refs, "wayfinder", where)
        elif kind == "event":
            self.events[str(group.get("name"))] = EventDef(
                str(group.get("name")), group.get("brief", ""), tuple(refs)
            )
        elif signal == "logs":
            self.stdout_fields += [StdoutField(**f) for f in _wayfinder(group).get("stdout_fields") or []]

    def add_offline_metrics(self, metrics: list[dict[str, Any]]) -> None:
        for raw in metrics:
            refs = [str(key) for key in raw.get("attributes") or []]
            where = f"{OFFLINE}: metric {raw.get('metric_name')}"
            self._reference(refs, "metrics", where)
            self._add_metric(raw, refs, "semconv", where)
        mirrored = {m.name for m in self.metrics.values() if m.source == "semconv"}
        for name in sorted(self.imported ^ mirrored):
            self.errors.append(
                f"metric {name} must be both imported by a group file and mirrored in {OFFLINE}"
            )

    def _reference(self, refs: list[str], signal: str, where: str) -> None:
        for key in refs:
            self._ref_sites.append((key, signal, where))
            if key not in self.refs[signal]:
                self.refs[signal].append(key)

    def _add_span(self, group: dict[str, Any], refs: list[str], where: str) -> None:
        notes = _wayfinder(group)
        kind = str(group.get("span_kind", ""))
        name, pattern = notes.get("span_name"), notes.get("span_name_pattern")
        if kind not in SPAN_KINDS:
            self.errors.append(f"{where}: span_kind {kind!r} is not one of {SPAN_KINDS}")
        if (name is None) == (pattern is None):
            self.errors.append(f"{where}: needs exactly one of span_name / span_name_pattern")
        hop = notes.get("async_hop")
        requirements = tuple(
            _requirement(raw, where, self.errors) for raw in group.get("attributes") or [] if "ref" in raw
        )
        self.spans.append(
            SpanDef(
                id=str(group.get("id")),
                brief=str(group.get("brief", "")).strip(),
                kind=kind.upper(),
                name=None if name is None else str(name),
                name_pattern=None if pattern is None else str(pattern),
                attributes=tuple(refs),
                services=tuple(notes.get("services") or ()),
                examples=tuple(str(e) for e in notes.get("examples") or ()),
                async_hop=AsyncHop(str(hop["role"]), str(hop["correlate_by"])) if hop else None,
                requirements=requirements,
            )
        )

    def _add_metric(self, raw: dict[str, Any], refs: list[str], source: str, where: str) -> None:
        name, instrument = str(raw.get("metric_name")), str(raw.get("instrument"))
        if instrument not in INSTRUMENTS:
            self.errors.append(f"{where}: instrument {instrument!r} is not one of {INSTRUMENTS}")
        if name in self.metrics:
            self.errors.append(f"{where}: metric {name} is declared twice")
        self.metrics[name] = MetricDef(
            name=name,
            brief=str(raw.get("brief", "")).strip(),
            instrument=instrument,
            unit=str(raw.get("unit", "")),
            attributes=tuple(refs),
            services=tuple(_wayfinder(raw).get("services") or ()),
            source=source,
        )

    def validate(self) -> None:
        for key, signal, where in self._ref_sites:
            attribute = self.attributes.get(key)
            if attribute is None:
                self.errors.append(f"{where}: ref {key} is neither declared here nor mirrored in {OFFLINE}")
            elif signal not in attribute.allowed_on:
                self.errors.append(
                    f"{where}: {key} is used on {signal} but allowed_on says {sorted(attribute.allowed_on)}"
                )
        for attribute in self.attributes.values():
            unused = sorted(s for s in attribute.allowed_on if attribute.key not in self.refs[s])
            if unused:
                self.errors.append(
                    f"attribute {attribute.key} is allowed on {unused} but no group of that signal uses it"
                )
