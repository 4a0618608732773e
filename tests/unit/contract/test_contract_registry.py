"""The registry loads, every attribute is fully declared, and it covers the lead's vocabulary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from contract_builders import REGISTRY, REPO
from wayfinder.contract.model import SIGNALS, Registry
from wayfinder.contract.registry import MANIFEST, OFFLINE, RegistryError, group_files, load_registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(REGISTRY)


def _raw_attribute_definitions() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"{OFFLINE}", raw) for raw in yaml.safe_load((REGISTRY / OFFLINE).read_text())["attributes"]]
    for path in group_files(REGISTRY):
        for group in yaml.safe_load(path.read_text()).get("groups") or []:
            found += [(path.name, raw) for raw in group.get("attributes") or [] if "id" in raw]
    return found


def test_the_manifest_is_a_weaver_manifest_depending_on_semconv() -> None:
    manifest = yaml.safe_load((REGISTRY / MANIFEST).read_text())
    assert manifest["name"] == "wayfinder" and manifest["semconv_version"] and manifest["schema_base_url"]
    (dependency,) = manifest["dependencies"]
    assert "semantic-conventions" in dependency["registry_path"]


def test_every_group_is_a_weaver_group(registry: Registry) -> None:
    for path in group_files(REGISTRY):
        for group in yaml.safe_load(path.read_text())["groups"]:
            assert {"id", "type", "brief"} <= set(group), (path.name, group.get("id"))
            assert group["type"] in {"attribute_group", "span", "event", "metric", "entity"}
            if group["type"] != "attribute_group":
                assert group.get("stability"), group["id"]


def test_every_attribute_declares_type_values_or_budget_and_pii() -> None:
    definitions = _raw_attribute_definitions()
    assert len(definitions) > 80
    for where, raw in definitions:
        notes = raw["annotations"]["wayfinder"]
        label = f"{where}: {raw['id']}"
        assert raw.get("type"), label
        is_enum = isinstance(raw["type"], dict) and raw["type"].get("members")
        assert is_enum or "cardinality_budget" in notes, label
        assert isinstance(notes.get("pii"), bool), label
        assert set(notes.get("allowed_on") or ()) <= set(SIGNALS) and notes["allowed_on"], label


def test_nothing_unbounded_or_personal_may_become_a_metric_label(registry: Registry) -> None:
    for attribute in registry.attributes.values():
        if "metrics" in attribute.allowed_on:
            assert not attribute.pii, attribute.key
            assert attribute.enum_values or attribute.cardinality_budget, attribute.key


def test_the_vocabulary_span_names_are_declared(registry: Registry) -> None:
    expected = {
        "checkout.place_order": "INTERNAL",
        "inventory.reserve": "INTERNAL",
        "inventory.release": "INTERNAL",
        "payment.authorize": "INTERNAL",
        "provider.authorize": "INTERNAL",
        "provider.invoice": "INTERNAL",
        "outbox.publish": "INTERNAL",
        "invoice.worker.process": "INTERNAL",
        "invoice.create": "INTERNAL",
        "apply_async/invoice.create": "PRODUCER",
        "run/invoice.create": "CONSUMER",
        "POST /checkout": "SERVER",
        "GET /orders/{order_id}": "SERVER",
        "POST /reservations": "SERVER",
        "POST /reservations/{order_id}/release": "SERVER",
        "POST /authorizations": "SERVER",
        "POST /v1/authorizations": "SERVER",
        "POST /v1/invoices": "SERVER",
        "POST": "CLIENT",
        "GET": "CLIENT",
        "SELECT inventory.products": "CLIENT",
        "INSERT checkout.orders": "CLIENT",
        "SELECT wayfinder": "CLIENT",  # a statement dbspans cannot name keeps SQLAlchemy's name
    }
    for name, kind in expected.items():
        assert kind in {d.kind for d in registry.span_defs_for(name)}, name


def test_the_resource_requires_name_version_and_environment(registry: Registry) -> None:
    assert set(registry.resource_required) == {
        "service.name",
        "service.version",
        "deployment.environment.name",
    }


def test_every_captured_metric_is_registered_with_its_shape(registry: Registry) -> None:
    # telemetry/captured/metrics.json is what the real processes exported in the end-to-end run.
    captured = json.loads((REPO / "telemetry" / "captured" / "metrics.json").read_text())["metrics"]
    kinds = {
        "counter": ("sum", True),
        "updowncounter": ("sum", False),
        "histogram": ("histogram", None),
        "gauge": ("gauge", None),
    }
    for metric in captured:
        declared = registry.metrics[metric["name"]]
        assert kinds[declared.instrument] == (metric["kind"], metric["monotonic"]), metric["name"]
        assert declared.unit == metric["unit"], metric["name"]
        assert set(metric["attributes"]) <= set(declared.attributes), metric["name"]


def _broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    copy = tmp_path / "registry"
    shutil.copytree(REGISTRY, copy)
    target = copy / file
    text = target.read_text()
    assert old in text, f"{old!r} not in {file}"
    target.write_text(text.replace(old, new, 1))
    return copy


@pytest.mark.parametrize(
    ("file", "old", "new", "complaint"),
    [
        ("attributes.yaml", "pii: false, cardinality_budget: 50}", "cardinality_budget: 50}", "pii"),
        (
            "attributes.yaml",
            "allowed_on: [spans, logs], pii: false, cardinality_budget: unbounded",
            "allowed_on: [spans, logs, metrics], pii: false, cardinality_budget: unbounded",
            "unbounded",
        ),
        (
            "attributes.yaml",
            "allowed_on: [spans, logs], pii: true, cardinality_budget: 1000",
            "allowed_on: [spans, logs, metrics], pii: true, cardinality_budget: 1000",
            "personal data",
        ),
        ("attributes.yaml", "cardinality_budget: 6}", "}", "cardinality_budget"),
        ("metrics.yaml", "- ref: invoice.status", "- ref: invoice.state", "invoice.state"),
        ("spans-business.yaml", "span_kind: internal", "span_kind: sideways", "span_kind"),
        (
            "spans-business.yaml",
            "requirement_level: {conditionally_required: when the checkout failed}",
            "requirement_level: conditionally_required",
            "without saying when",
        ),
        ("spans-business.yaml", "requirement_level: required", "requirement_level: must", "'must'"),
    ],
)
def test_a_sloppy_registry_is_refused_with_the_reason(
    tmp_path: Path, file: str, old: str, new: str, complaint: str
) -> None:
    with pytest.raises(RegistryError) as refused:
        load_registry(_broken_copy(tmp_path, file, old, new))
    assert any(complaint in problem for problem in refused.value.problems), refused.value.problems


def test_the_offline_semconv_mirror_has_no_dead_entries(tmp_path: Path) -> None:
    broken = _broken_copy(
        tmp_path,
        str(OFFLINE),
        "attributes:\n",
        "attributes:\n  - id: rpc.system\n"
        "    type: string\n    stability: development\n    brief: unused\n"
        "    annotations: {wayfinder: {allowed_on: [spans], pii: false, cardinality_budget: 5}}\n",
    )
    with pytest.raises(RegistryError, match="rpc.system"):
        load_registry(broken)


def test_span_requirement_levels_are_read_with_their_conditions(registry: Registry) -> None:
    (place,) = registry.span_defs_for("checkout.place_order")
    levels = {r.key: r for r in place.requirements}
    assert levels["account.id"].level == "required" and "account.id" in place.required
    assert levels["error.type"].level == "conditionally_required"
    assert levels["error.type"].condition == "when the checkout failed"
    assert levels["account.tier"].level == "recommended"  # Weaver's default when none is given
    assert [r.key for r in place.requirements] == list(place.attributes)
