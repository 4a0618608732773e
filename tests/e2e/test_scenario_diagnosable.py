"""Every scenario is diagnosable from telemetry alone, and the shop is healthy again after it.

Each scenario runs seeded at training speed under its load, against the real shop and a real
local Prometheus (switched to the training-speed rules by the run); `wayfinder verify`'s checks
are polled until every element of the answer key is proven from what the query layer answers;
then the run is stopped and the healthy-again check is polled. `make test` runs two cheap
scenarios; `make test-scenarios` runs them all (marker `scenarios`).
"""

from __future__ import annotations

import time

import httpx
import pytest
from wayfinder.local.prometheus import LocalPrometheus
from wayfinder.query.local import LocalBackend
from wayfinder.query.prometheus_api import PrometheusAPI
from wayfinder.scenarios import catalog
from wayfinder.scenarios.healthy import healthy
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.run import runner_pid
from wayfinder.scenarios.verify import Check, passed, verify
from wayfinder.scenarios.verify_cli import HEALTHY_WAIT_S, render, run_window

from tests.e2e.conftest import Shop
from tests.e2e.scenario_support import rule_folders, wayfinder
from tests.support import poll_until

SPEED = 10.0
# The cheapest (about 1.5 min each): a scenario with an alert also waits about 5 min after the
# stop, until the real-speed rules' 5m windows have forgotten the run.
EVERY_RUN = {"no-incident", "invoice-failures-enterprise"}
# Beyond the run itself: scrapes, rule evaluations and export delays on a shared machine.
MARGIN_S = 90.0
READY_WAIT_S = 120.0


def _scenarios() -> list[object]:
    return [
        pytest.param(name, marks=() if name in EVERY_RUN else pytest.mark.scenarios)
        for name in sorted(catalog.load_all())
    ]


def _ready(shop: Shop) -> bool:
    try:
        return httpx.get(f"{shop.url}/readyz", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def _failing(checks: list[Check]) -> str:
    return render("checks", checks)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("name", _scenarios())
def test_scenario_is_diagnosable_and_the_shop_healthy_after(
    shop: Shop, prometheus: LocalPrometheus, name: str
) -> None:
    scenario = catalog.load(name)
    backend = LocalBackend(shop.store, PrometheusAPI(prometheus.url))
    paths = StatePaths(shop.config.home)
    poll_until(lambda: rule_folders(prometheus) == {"rules"}, "the local Prometheus on prometheus/rules")
    # A scenario starts on a shop that answers (the one before may have left it busy for a while).
    poll_until(lambda: _ready(shop), "the shop ready before the run", READY_WAIT_S)
    since = time.time()
    started = wayfinder(
        shop, "scenario", "start", name, "--seed", "1", "--speed", f"{SPEED:g}", prometheus=prometheus
    )
    assert started.returncode == 0, started.stderr
    run_s = scenario.load.duration_s / SPEED
    last: list[list[Check]] = [[]]

    def proven() -> list[Check] | None:
        # "Nothing is wrong" is only proven over the whole run, not its first seconds.
        if scenario.answer.scope == "none" and runner_pid(paths) is not None:
            return None
        last[0] = verify(scenario, backend, since, time.time(), run_window(SPEED))
        return last[0] if passed(last[0]) else None

    try:
        try:
            checks = poll_until(proven, f"every element of {name}'s answer key", run_s + MARGIN_S)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_failing(last[0])}") from None
        # Every element the key names was judged, none skipped.
        evidence = scenario.answer.evidence
        expected = {
            "alert": bool(scenario.answer.alert) or scenario.answer.scope == "none",
            "scope": evidence.metric is not None,
            "span": evidence.span is not None,
            "log": evidence.span is not None and evidence.log_pattern is not None,
        }
        print(render(name, checks))  # shown with -s or -rP: what proved it
        assert {c.element for c in checks if c.ok} == {e for e, wanted in expected.items() if wanted}
    finally:
        stopped = wayfinder(shop, "scenario", "stop", prometheus=prometheus)
    assert stopped.returncode == 0, stopped.stderr
    # The scenario's own mitigation for failed invoices, harmless when there are none.
    redriven = wayfinder(shop, "invoices", "redrive", prometheus=prometheus)
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr

    after: list[list[Check]] = [[]]

    def recovered() -> list[Check] | None:
        after[0] = healthy(backend, shop.stack.postgres.url)
        return after[0] if passed(after[0]) else None

    waited = time.monotonic()
    try:
        poll_until(recovered, f"the shop healthy again after {name}", HEALTHY_WAIT_S)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_failing(after[0])}") from None
    print(render(f"healthy again after {time.monotonic() - waited:.0f} s", after[0]))


def test_verify_needs_the_trainer_token(shop: Shop) -> None:
    refused = wayfinder(shop, "verify", "no-incident")
    assert refused.returncode == 3 and "WAYFINDER_TRAINER_TOKEN" in refused.stderr
    assert "Nothing is wrong" not in refused.stdout + refused.stderr
