"""Every scenario is diagnosable from telemetry alone, and the shop is healthy again after it.

Each test runs `wayfinder verify --all --only NAME` as a trainer would, against the real shop and
a real local Prometheus: the scenario seeded at training speed under its load, every element of
its answer key polled until proven through the query layer, the run stopped, the healthy-again
check polled (wayfinder.scenarios.prove). `make test` runs two cheap scenarios in one command;
`make test-scenarios` runs each of the others (marker `scenarios`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from wayfinder.local.prometheus import LocalPrometheus
from wayfinder.scenarios import catalog
from wayfinder.scenarios.prove import MARGIN_S, READY_WAIT_S
from wayfinder.scenarios.rulespeed import TRAINING_SPEED
from wayfinder.scenarios.verify import expected_elements
from wayfinder.scenarios.verify_cli import HEALTHY_WAIT_S

from tests.e2e.conftest import Shop
from tests.e2e.scenario_support import wayfinder
from tests.support import free_port

# The cheapest (about 1.5 min each), run on every `make test` through one `verify --all`.
EVERY_RUN = ("invoice-failures-enterprise", "no-incident")


def _verify_all(shop: Shop, prometheus: LocalPrometheus, names: tuple[str, ...]) -> dict[str, object]:
    runs_s = sum(catalog.load(n).load.duration_s / TRAINING_SPEED for n in names)
    timeout_s = runs_s + len(names) * (MARGIN_S + READY_WAIT_S + HEALTHY_WAIT_S) + 60
    done = wayfinder(
        shop,
        "verify",
        "--all",
        "--only",
        ",".join(names),
        "--json",
        prometheus=prometheus,
        timeout_s=timeout_s,
        embedded_store=True,
        WAYFINDER_TRAINER_TOKEN=shop.faults.token,
    )
    print(done.stderr)  # the progress lines, shown with -s or -rP
    report: dict[str, object] = json.loads(done.stdout)
    assert done.returncode == (0 if report["passed"] else 1), done.stderr
    return report


def _assert_proven(report: dict[str, object], names: tuple[str, ...]) -> None:
    scenarios = report["scenarios"]
    assert isinstance(scenarios, list) and [s["scenario"] for s in scenarios] == list(names)
    for proof in scenarios:
        shown = json.dumps(proof, indent=1)
        assert proof["passed"] and proof["error"] is None, shown
        # Every element the key names was judged and proven, none skipped.
        proven = {c["element"] for c in proof["checks"] if c["ok"]}
        assert proven == expected_elements(catalog.load(proof["scenario"])), shown
        assert proof["healthy"] and all(c["ok"] is not False for c in proof["healthy"]), shown
    assert report["passed"] is True


@pytest.mark.timeout(1800)
def test_verify_all_proves_each_scenario_and_the_shop_healthy_after(
    shop: Shop, prometheus: LocalPrometheus
) -> None:
    _assert_proven(_verify_all(shop, prometheus, EVERY_RUN), EVERY_RUN)


# Scenarios that stop the telemetry pipeline need local mode's own store process: the shared
# shop exports to a receiver inside the test process, which no scenario can stop.
OWN_STORE = {"telemetry-pipeline-down"}


@pytest.fixture(scope="module")
def local_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shop, LocalPrometheus]]:
    """Local mode as `make up` runs it: the embedded store and the local Prometheus are processes."""
    from wayfinder.local.config import LocalConfig
    from wayfinder.local.stack import LocalStack

    home = tmp_path_factory.mktemp("local-mode") / "home"
    home.mkdir()
    ports = {
        f"{name}_port": free_port()
        for name in (
            "postgres",
            "redis",
            "checkout",
            "inventory",
            "payment",
            "provider",
            "store",
            "prometheus",
        )
    }
    settings = {
        "home": home,
        "environment": "test",
        "span_export_delay_ms": 200,
        "metric_export_interval_ms": 500,
    }
    config = LocalConfig.model_validate({**settings, **ports})
    assert config.uses_embedded_store
    stack = LocalStack(config, report=lambda _: None)
    try:
        stack.up()
        yield Shop(stack, None, config), LocalPrometheus(config, stack.processes)
    finally:
        stack.down()


@pytest.mark.scenarios
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("name", sorted(set(catalog.load_all()) - set(EVERY_RUN)))
def test_scenario_is_diagnosable_and_the_shop_healthy_after(
    request: pytest.FixtureRequest, name: str
) -> None:
    if name in OWN_STORE:
        shop, prometheus = request.getfixturevalue("local_mode")
    else:
        shop, prometheus = request.getfixturevalue("shop"), request.getfixturevalue("prometheus")
    _assert_proven(_verify_all(shop, prometheus, (name,)), (name,))


def test_verify_needs_the_trainer_token(shop: Shop) -> None:
    refused = wayfinder(shop, "verify", "no-incident")
    assert refused.returncode == 3 and "WAYFINDER_TRAINER_TOKEN" in refused.stderr
    assert "Nothing is wrong" not in refused.stdout + refused.stderr
    refused_all = wayfinder(shop, "verify", "--all", "--only", "no-incident")
    assert refused_all.returncode == 3 and "WAYFINDER_TRAINER_TOKEN" in refused_all.stderr
