"""The telemetry contract holds on what the real processes exported: zero violations.

It runs on everything this session captured (every e2e test's telemetry, outages included),
after placing the main kinds of checkout itself so it never depends on test order. The same
check runs as `wayfinder telemetry check --capture FILE` on a dump of the store. The checker
proves that what is emitted is declared; the second test proves the converse for the business
spans: an attribute the registry promises on them (required or recommended) really appears.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Shop

REGISTRY = Path(__file__).resolve().parents[2] / "telemetry" / "registry"


def _exercise(shop: Shop) -> None:
    assert shop.checkout(region="ap-south", account="acct-0003").status_code == 201
    assert shop.checkout(card_token="tok_decline").status_code == 402
    assert shop.checkout(items=[{"sku": "SKU-NOPE", "quantity": 1}]).status_code == 404
    assert shop.checkout(email="broken").status_code == 422
    shop.set_fault("authorize:eu-west", rate_limit_rate=1.0, retry_after_s=0)
    try:
        response = shop.checkout(region="eu-west")
    finally:
        shop.reset_faults()
    assert response.status_code == 503
    last = shop.checkout(region="us-east")
    shop.spans_until(shop.trace_of(last), {"invoice.create"})


def test_every_attribute_declared_on_a_business_span_is_emitted(shop: Shop) -> None:
    from wayfinder.contract.registry import load_registry

    _exercise(shop)
    registry = load_registry(REGISTRY)
    # The manual (internal, exactly named) spans: the instrumentations' own attribute lists
    # are upstream's. Conditionally required attributes are left out: their condition may not
    # arise here.
    promised = {
        d.name: {r.key for r in d.requirements if r.level in ("required", "recommended")}
        for d in registry.spans
        if d.name is not None and d.kind == "INTERNAL"
    }
    seen: dict[str, set[str]] = {}
    for span in shop.store.spans():
        if span.name in promised:
            seen.setdefault(span.name, set()).update(span.attributes)
    assert {"checkout.place_order", "payment.authorize", "invoice.create"} <= set(seen)
    never = {name: sorted(promised[name] - keys) for name, keys in seen.items() if promised[name] - keys}
    assert not never, f"declared in the registry but never emitted: {never}"


def test_captured_telemetry_has_no_contract_violations(shop: Shop, tmp_path: Path) -> None:
    from wayfinder.contract.check import run_checks
    from wayfinder.contract.registry import load_registry
    from wayfinder.contract.report import render_text

    _exercise(shop)
    registry = load_registry(REGISTRY)
    all_spans, all_logs, points = shop.store.spans(), shop.store.logs(), shop.store.metric_points()
    # Traces a test broke on purpose (test_fault_invisibility drops the relay's context) would be
    # found by trace.async_context_lost, as a trainee would find them: leave those out only.
    broken = {
        s.trace_id for s in all_spans if s.attributes.get("order.id") in shop.deliberately_broken_orders
    }
    spans = [s for s in all_spans if s.trace_id not in broken]
    logs = [log for log in all_logs if log.trace_id not in broken]
    report = run_checks(spans, logs, points, registry)
    assert report.ok, render_text(report)
    everything = run_checks(all_spans, all_logs, points, registry)
    # With them, the lost context is the one finding, as the drill intends.
    assert {f.violation.rule for f in everything.findings} <= {"trace.async_context_lost"}

    capture = tmp_path / "capture.jsonl"
    shop.store.dump_capture(capture)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "wayfinder.cli",
            "telemetry",
            "check",
            "--capture",
            str(capture),
            "--registry",
            str(REGISTRY),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The CLI on a dump of the whole store agrees with the in-process check of the same data.
    assert cli.returncode == (0 if everything.ok else 1), cli.stdout + cli.stderr
