"""The fault timeline: seeded (same seed, same plan), ramped, recovered, and scaled by --speed."""

from __future__ import annotations

from pathlib import Path

from wayfinder.scenarios import catalog
from wayfinder.scenarios.timeline import plan

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def test_the_same_seed_gives_the_same_timeline():
    scenario = catalog.load("provider-rate-limit-eu-west", SCENARIOS)
    assert plan(scenario, 1, 10) == plan(scenario, 1, 10)


def test_different_seeds_move_the_onset():
    scenario = catalog.load("provider-rate-limit-eu-west", SCENARIOS)
    onsets = {plan(scenario, seed, 1)[0].at_s for seed in range(5)}
    assert len(onsets) > 1
    assert all(60 <= t <= 90 for t in onsets)  # start_s 60 plus up to 30 s of seeded jitter


def test_a_ramp_tightens_the_limit_step_by_step_then_switches_off():
    scenario = catalog.load("provider-rate-limit-eu-west", SCENARIOS)
    switches = plan(scenario, 1, 1)
    ons = [s for s in switches if s.do == "on"]
    rates = [s.params["rate_per_s"] for s in ons if s.params]
    assert rates[:3] == sorted(rates[:3], reverse=True)  # ramp: more turns a second first
    assert rates[2] == 4.5  # full strength is the file's value
    assert switches[-1].do == "off" and switches[-1].scope == "eu-west"


def test_speed_divides_every_time():
    scenario = catalog.load("redis-down", SCENARIOS)
    real, fast = plan(scenario, 3, 1), plan(scenario, 3, 10)
    assert [s.at_s / 10 for s in real] == [s.at_s for s in fast]
    assert [(s.do, s.component) for s in fast] == [("stop", "redis"), ("start", "redis")]


def test_every_hook_is_itself_at_full_strength_and_keeps_its_type_when_ramped():
    from wayfinder_common.faulthooks import HOOKS

    examples = {
        "provider.latency": {"latency_ms": 1000},
        "provider.rate_limit": {"rate_per_s": 1.0},
        "provider.unavailable": {"error_rate": 0.5},
        "provider.behaviour": {"latency_ms": 1000, "error_rate": 0.5},
        "invoice.gateway_failure": {"error_rate": 0.5},
        "inventory.lock_hold": {"hold_ms": 900},
        "db.statement_delay": {"delay_ms": 80},
        "relay.drop_context": {"drop_rate": 1.0},
        "release.regression": {"version": "0.2.0", "route": "/checkout", "latency_ms": 100},
        "route.crash": {"crash_rate": 0.5},
    }
    assert set(examples) == set(HOOKS)
    for name, params in examples.items():
        model = HOOKS[name].params.model_validate(params)
        assert model.scaled(1.0) == model, name
        weaker = model.scaled(0.5)
        assert type(weaker) is type(model), name
