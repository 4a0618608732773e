"""A scenario's plan as timed switches: seeded (same seed, same plan) and time-scaled (--speed)."""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from wayfinder_common.faulthooks import HOOKS

from wayfinder.scenarios.model import Action, FaultSpec, Scenario


class Switch(BaseModel):
    """One thing the runner does at `at_s` seconds after the start (already divided by the speed)."""

    model_config = ConfigDict(frozen=True)

    at_s: float
    do: Literal["on", "off", "stop", "start", "restart"]
    hook: str | None = None
    scope: str | None = None
    params: dict[str, Any] | None = None
    component: str | None = None
    version: str | None = None
    sampler: str | None = None
    sampler_ratio: float | None = None


def _fault_switches(fault: FaultSpec, rng: random.Random) -> list[Switch]:
    t = fault.timeline
    start = t.start_s + (rng.uniform(0, t.start_jitter_s) if t.start_jitter_s else 0.0)
    model = HOOKS[fault.hook].params.model_validate(fault.params)

    def on(at: float, fraction: float) -> Switch:
        params = model.scaled(fraction).model_dump(mode="json")
        return Switch(at_s=at, do="on", hook=fault.hook, scope=fault.scope, params=params)

    steps = t.steps if t.ramp_s > 0 else 1
    switches = [on(start + t.ramp_s * (i - 1) / steps, i / steps) for i in range(1, steps + 1)]
    recovering = start + t.ramp_s + t.hold_s
    down = t.steps if t.recover_s > 0 else 1
    for i in range(1, down):
        switches.append(on(recovering + t.recover_s * i / down, (down - i) / down))
    switches.append(Switch(at_s=recovering + t.recover_s, do="off", hook=fault.hook, scope=fault.scope))
    return switches


def _action_switch(action: Action) -> Switch:
    return Switch(
        at_s=action.at_s,
        do=action.kind,
        component=action.component,
        version=action.version,
        sampler=action.sampler,
        sampler_ratio=action.sampler_ratio,
    )


def plan(scenario: Scenario, seed: int | None, speed: float) -> list[Switch]:
    """Every switch of a run, in time order; `seed` None draws a fresh one."""
    rng = random.Random(seed)
    switches = [s for fault in scenario.faults for s in _fault_switches(fault, rng)]
    switches += [_action_switch(a) for a in scenario.actions]
    scaled = [s.model_copy(update={"at_s": round(s.at_s / speed, 3)}) for s in switches]
    return sorted(scaled, key=lambda s: s.at_s)


def duration_s(scenario: Scenario, speed: float) -> float:
    """How long the load runs: the profile's duration, at least until the last switch."""
    last = max((s.at_s for s in plan(scenario, 0, speed)), default=0.0)
    return max(scenario.load.duration_s / speed, last + 10)
