"""The scenario file format (scenarios/*.yaml); scenarios/schema.json is generated from it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from wayfinder_common.domain import REGIONS, TIERS
from wayfinder_common.faulthooks import HOOKS, FaultEntry

NAME = r"^[a-z0-9][a-z0-9-]{1,62}$"
Component = Literal[
    "checkout-api",
    "inventory",
    "payment",
    "payment-provider",
    "invoice-worker",
    "outbox-relay",
    "redis",
    "postgres",
    "telemetry",
]


# The cause categories a trainee chooses from (`wayfinder drill answer --cause`).
Cause = Literal[
    "dependency_rate_limited",
    "dependency_slow",
    "dependency_errors",
    "retry_storm",
    "lock_contention",
    "database_slow",
    "broker_down",
    "bad_release",
    "lost_context",
    "telemetry_pipeline_down",
    "sampling",
    "none",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeline(Strict):
    """When a fault switches on, how it ramps, how long it holds, how it recovers (seconds, real speed)."""

    start_s: float = Field(default=30, ge=0, le=3600)
    ramp_s: float = Field(default=0, ge=0, le=3600)
    hold_s: float = Field(gt=0, le=7200)
    recover_s: float = Field(default=0, ge=0, le=3600)
    steps: int = Field(default=1, ge=1, le=10, description="switches per ramp (and per recovery)")
    # Seeded runs move the start by up to this much, so a drill's onset is not predictable.
    start_jitter_s: float = Field(default=0, ge=0, le=600)


class FaultSpec(Strict):
    hook: str = Field(description="a hook from wayfinder_common.faulthooks.HOOKS")
    scope: str
    params: dict[str, float | int | str]
    timeline: Timeline

    @field_validator("hook")
    @classmethod
    def _hook_exists(cls, hook: str) -> str:
        if hook not in HOOKS:
            raise ValueError(f"unknown hook {hook!r}; one of {', '.join(sorted(HOOKS))}")
        return hook

    @model_validator(mode="after")
    def _scope_and_params(self) -> FaultSpec:
        FaultEntry(hook=self.hook, scope=self.scope, params=self.params)
        return self


class Action(Strict):
    """A switch that is not a hook: stop or start a component, or restart a service as a new release."""

    at_s: float = Field(ge=0, le=7200)
    kind: Literal["stop", "start", "restart"]
    component: Component
    version: str | None = Field(default=None, pattern=r"^[0-9A-Za-z.+-]{1,32}$")
    sampler: Literal["parentbased_always_on", "parentbased_traceidratio"] | None = None
    sampler_ratio: float | None = Field(default=None, gt=0, le=1)


def _even(names: tuple[str, ...]) -> dict[str, float]:
    return dict.fromkeys(names, 1.0)


class LoadProfile(Strict):
    rate_per_s: float = Field(gt=0, le=200)
    duration_s: float = Field(gt=0, le=7200)
    region_mix: dict[str, float] = Field(default_factory=lambda: _even(REGIONS))
    tier_mix: dict[str, float] = Field(default_factory=lambda: _even(TIERS))
    decline_ratio: float = Field(default=0.02, ge=0, le=1)

    @model_validator(mode="after")
    def _known_keys(self) -> LoadProfile:
        for field, known in (("region_mix", REGIONS), ("tier_mix", TIERS)):
            unknown = set(getattr(self, field)) - set(known)
            if unknown:
                raise ValueError(f"{field}: unknown {sorted(unknown)}; known: {', '.join(known)}")
        return self


class Told(Strict):
    """What the trainee is told: a symptom, never the answer."""

    kind: Literal["alert", "ticket", "customer-report"]
    text: str = Field(min_length=10, max_length=600)


class SpanEvidence(Strict):
    name: str
    service: str
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)
    starts_trace: bool = Field(
        default=False,
        description="the span is its trace's root (no parent): the trace context was lost before it",
    )


class MetricEvidence(Strict):
    name: str = Field(description="the Prometheus series name")
    by: str = Field(description="the label that separates the affected slice")
    affected: str | list[str] | None = Field(
        default=None,
        description=(
            "the label value that stands out; a list when the same part has a different name in "
            "each mode (the collector, local mode's telemetry store): whichever the data holds"
        ),
    )
    falls: bool = Field(
        default=False,
        description="the affected value stands out by falling (a target that stops answering), not rising",
    )
    where: dict[str, str] = Field(
        default_factory=dict, description="only the series with these label values (one service's, say)"
    )


class SampledEvidence(Strict):
    """Traces are samples, metrics are counts: of the events `evidence.metric` counts for its
    affected value, at most `at_most` have a trace holding `span` (sampling dropped the rest)."""

    span: SpanEvidence = Field(description="the span every counted event has, when its trace was kept")
    at_most: float = Field(gt=0, lt=1, description="the largest share of the count with a trace")


class Evidence(Strict):
    span: SpanEvidence | None = None
    log_pattern: str | None = None
    metric: MetricEvidence | None = None
    sampled: SampledEvidence | None = None

    @model_validator(mode="after")
    def _sampled_counts_the_metric(self) -> Evidence:
        if self.sampled and not (self.metric and isinstance(self.metric.affected, str)):
            raise ValueError("sampled needs metric with one affected value: the count it is compared to")
        return self


class AnswerKey(Strict):
    alert: str | None
    scope: dict[str, str] | Literal["fleet-wide", "none"]
    service: str | None
    dependency: str | None = None
    span: str | None = None
    cause: Cause
    evidence: Evidence
    root_cause: str = Field(min_length=10)
    mitigation: str = Field(min_length=10)


class Scenario(Strict):
    name: str = Field(pattern=NAME)
    title: str = Field(min_length=5, max_length=120)
    difficulty: Literal["guided", "easy", "medium", "hard"]
    told: Told
    faults: list[FaultSpec] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    load: LoadProfile
    alert: str | None = Field(description="the alert that should fire; null when the trainee gets a ticket")
    answer: AnswerKey

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if (self.alert is None) != (self.told.kind != "alert"):
            raise ValueError("told.kind is 'alert' exactly when the scenario has an alert")
        if self.alert != self.answer.alert:
            raise ValueError("answer.alert must be the scenario's alert")
        return self


def hook_names() -> list[str]:
    return sorted(HOOKS)
