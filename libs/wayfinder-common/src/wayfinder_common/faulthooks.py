"""The catalogue of generic fault hooks: what each knob does, which scopes it takes, its parameters.

Services only know these knobs; which knob a scenario turns, how hard and when is data
(scenarios/*.yaml). A scope is a bounded name checked against the shop's vocabularies, so the
fault state can never hold anything but known hooks, known scopes and bounded numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wayfinder_common.domain import REGIONS, TIERS
from wayfinder_common.faults import Fault

SERVICES = ("checkout-api", "inventory", "payment", "payment-provider", "invoice-worker", "outbox-relay")
ROUTES = (
    "/checkout",
    "/orders/{order_id}",
    "/products",
    "/reservations",
    "/reservations/{order_id}/release",
    "/authorizations",
    "/authorizations/{order_id}/void",
)
# Route handlers' names (FastAPI's route.name) across the shop: the scopes of route.crash. A unit
# test holds this list to the handlers the services really have.
HANDLERS = (
    "authorize",
    "checkout",
    "create_invoice",
    "get_order",
    "get_products",
    "products",
    "release",
    "reserve",
    "void",
)
SKU_PATTERN = re.compile(r"^SKU-[A-Z0-9]{1,24}$")
FLEET = "all"


class HookParams(BaseModel):
    """Parameters of one hook; unknown fields are refused (nothing kept that was not asked for)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def scaled(self, fraction: float) -> HookParams:
        """The same fault at `fraction` (0..1] of its strength, for ramps."""
        return self


class LatencyParams(HookParams):
    latency_ms: int = Field(ge=0, le=30_000)
    jitter_ms: int = Field(default=0, ge=0, le=30_000)

    def scaled(self, fraction: float) -> LatencyParams:
        return LatencyParams(latency_ms=round(self.latency_ms * fraction), jitter_ms=self.jitter_ms)


class RateLimitParams(HookParams):
    """Turns per scope: `rate_per_s` a second, `burst` at once; a refused request keeps its turn
    and may not come back for `cooldown_s`, whatever Retry-After (`retry_after_s`) told it."""

    rate_per_s: float = Field(gt=0, le=10_000)
    burst: int = Field(default=1, ge=1, le=1000)
    retry_after_s: int = Field(default=1, ge=0, le=600)
    cooldown_s: float = Field(default=0.0, ge=0, le=600)

    def scaled(self, fraction: float) -> RateLimitParams:
        # A ramp tightens the limit: at a tenth of the strength it hands out ten times the turns.
        return self.model_copy(update={"rate_per_s": min(10_000.0, self.rate_per_s / max(fraction, 1e-3))})


class ErrorRateParams(HookParams):
    error_rate: float = Field(ge=0, le=1)

    def scaled(self, fraction: float) -> ErrorRateParams:
        return ErrorRateParams(error_rate=round(self.error_rate * fraction, 4))


class LockHoldParams(HookParams):
    hold_ms: int = Field(ge=0, le=10_000)

    def scaled(self, fraction: float) -> LockHoldParams:
        return LockHoldParams(hold_ms=round(self.hold_ms * fraction))


class StatementDelayParams(HookParams):
    delay_ms: int = Field(ge=0, le=5_000)

    def scaled(self, fraction: float) -> StatementDelayParams:
        return StatementDelayParams(delay_ms=round(self.delay_ms * fraction))


class CrashParams(HookParams):
    """A share of a route's requests fail after the handler ran, as a bug in the response path."""

    crash_rate: float = Field(ge=0, le=1)

    def scaled(self, fraction: float) -> CrashParams:
        return CrashParams(crash_rate=round(self.crash_rate * fraction, 4))


class DropContextParams(HookParams):
    drop_rate: float = Field(default=1.0, ge=0, le=1)

    def scaled(self, fraction: float) -> DropContextParams:
        return DropContextParams(drop_rate=round(self.drop_rate * fraction, 4))


class RegressionParams(HookParams):
    """Slows one route, only in processes running `version` (the bad release's own code)."""

    version: str = Field(pattern=r"^[0-9A-Za-z.+-]{1,32}$")
    route: str
    latency_ms: int = Field(ge=0, le=30_000)

    @field_validator("route")
    @classmethod
    def _known_route(cls, route: str) -> str:
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; one of {', '.join(ROUTES)}")
        return route


class DependencyParams(Fault, HookParams):
    """The provider's whole behaviour knob set (latency, 429, 503, hangs, declines) for one scope."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def scaled(self, fraction: float) -> DependencyParams:
        rates = ("error_rate", "rate_limit_rate", "timeout_rate", "decline_rate")
        update: dict[str, float] = {name: round(getattr(self, name) * fraction, 4) for name in rates}
        update["latency_ms"] = round(self.latency_ms * fraction)
        return self.model_copy(update=update)


@dataclass(frozen=True)
class Hook:
    name: str
    doc: str
    scopes: tuple[str, ...] | re.Pattern[str]
    params: type[HookParams]

    def check_scope(self, scope: str) -> str:
        allowed = (
            scope in self.scopes if isinstance(self.scopes, tuple) else bool(self.scopes.fullmatch(scope))
        )
        if not allowed:
            shown = ", ".join(self.scopes) if isinstance(self.scopes, tuple) else self.scopes.pattern
            raise ValueError(f"scope {scope[:40]!r} is not valid for hook {self.name} (allowed: {shown})")
        return scope


PROVIDER_SCOPES = tuple(f"authorize:{r}" for r in REGIONS) + ("invoice",)
_hooks = [
    Hook("provider.latency", "extra provider latency, no errors", REGIONS, LatencyParams),
    Hook("provider.rate_limit", "per-region rate limit: 429 with Retry-After", REGIONS, RateLimitParams),
    Hook("provider.unavailable", "503 without Retry-After", REGIONS, ErrorRateParams),
    Hook("provider.behaviour", "every provider knob for one scope", PROVIDER_SCOPES, DependencyParams),
    Hook("invoice.gateway_failure", "invoice gateway 503s for one account tier", TIERS, ErrorRateParams),
    Hook("inventory.lock_hold", "hold a SKU's row lock longer", SKU_PATTERN, LockHoldParams),
    Hook("db.statement_delay", "delay every SQL statement, fleet-wide", (FLEET,), StatementDelayParams),
    Hook("relay.drop_context", "relay publishes without the trace context", (FLEET,), DropContextParams),
    Hook("release.regression", "a version's slower route", SERVICES, RegressionParams),
    Hook("route.crash", "a route handler's answer becomes a 500, as a bug would", HANDLERS, CrashParams),
]
HOOKS: dict[str, Hook] = {hook.name: hook for hook in _hooks}


class FaultEntry(BaseModel):
    """One switched-on knob: a known hook, a valid scope, parameters the hook accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hook: str = Field(max_length=40)
    scope: str = Field(max_length=40)
    params: dict[str, float | int | str] = Field(max_length=8)

    @model_validator(mode="after")
    def _valid(self) -> FaultEntry:
        hook = HOOKS.get(self.hook)
        if hook is None:
            raise ValueError(f"unknown hook {self.hook!r}; one of {', '.join(HOOKS)}")
        hook.check_scope(self.scope)
        hook.params.model_validate(self.params)
        return self
