"""The simulated processor: per-region behaviour from the fault book, idempotent by key."""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass

from opentelemetry import trace
from wayfinder_common.faulthooks import (
    DependencyParams,
    ErrorRateParams,
    LatencyParams,
    RateLimitParams,
)
from wayfinder_common.faults import Fault, FaultBook
from wayfinder_common.faultstate import FaultReader

from payment_provider.limits import RegionLimits
from payment_provider.schemas import AuthorizationOut, AuthorizationRequest, InvoiceOut

tracer = trace.get_tracer("payment-provider")

# Cards that always decline, so tests and drills can ask for a decline without touching faults.
DECLINING_TOKENS = {"tok_decline", "tok_insufficient_funds"}

# Regions differ even when healthy: ap-south is further from the processor.
REGION_DEFAULTS = {
    "authorize:us-east": Fault(latency_ms=40, jitter_ms=20),
    "authorize:eu-west": Fault(latency_ms=60, jitter_ms=30),
    "authorize:ap-south": Fault(latency_ms=120, jitter_ms=60),
    "invoice": Fault(latency_ms=30, jitter_ms=20),
}


@dataclass(frozen=True)
class Refusal:
    """A non-answer: 429 (rate limited) or 503 (unavailable)."""

    status: int
    retry_after_s: int | None


class Provider:
    def __init__(self, faults: FaultBook, hang_s: float, switches: FaultReader) -> None:
        self.faults = faults
        self.hang_s = hang_s
        self.switches = switches
        self.limits = RegionLimits()
        self._lock = threading.Lock()
        self._authorizations: dict[str, AuthorizationOut] = {}
        self._invoices: dict[str, InvoiceOut] = {}

    def _fault(self, scope: str) -> Fault:
        """The scope's healthy defaults, unless the fault control switched its whole behaviour."""
        switched = self.switches.params("provider.behaviour", scope)
        return switched if isinstance(switched, DependencyParams) else self.faults.get(scope)

    async def _misbehave(
        self, scope: str, span: trace.Span, region: str | None = None, key: str = ""
    ) -> Refusal | None:
        """A refusal if a fault says so; `key` (the Idempotency-Key) keeps a rate-limited turn."""
        fault = self._fault(scope)
        delay = self.faults.delay_s(fault)
        slower = self.switches.params("provider.latency", region) if region else None
        if isinstance(slower, LatencyParams):
            delay += self.faults.delay_s(Fault(latency_ms=slower.latency_ms, jitter_ms=slower.jitter_ms))
        await asyncio.sleep(delay)
        if self.faults.roll(fault.timeout_rate):
            span.set_attribute("provider.decision", "timeout")
            await asyncio.sleep(self.hang_s)
        if region is not None:
            limit = self.switches.params("provider.rate_limit", region)
            if not self.limits.admit(region, limit if isinstance(limit, RateLimitParams) else None, key):
                assert isinstance(limit, RateLimitParams)
                span.set_attribute("provider.decision", "rate_limited")
                return Refusal(429, limit.retry_after_s)
            outage = self.switches.params("provider.unavailable", region)
            if isinstance(outage, ErrorRateParams) and self.faults.roll(outage.error_rate):
                span.set_attribute("provider.decision", "error")
                return Refusal(503, None)
        if self.faults.roll(fault.rate_limit_rate):
            span.set_attribute("provider.decision", "rate_limited")
            return Refusal(429, fault.retry_after_s)
        if self.faults.roll(fault.error_rate):
            span.set_attribute("provider.decision", "error")
            return Refusal(503, None)
        return None

    async def authorize(
        self, request: AuthorizationRequest, idempotency_key: str
    ) -> AuthorizationOut | Refusal:
        with tracer.start_as_current_span(
            "provider.authorize", attributes={"region": request.region}
        ) as span:
            with self._lock:
                known = self._authorizations.get(idempotency_key)
            if known is not None:
                # A retry of a request we already answered: same answer, no second charge.
                span.set_attribute("provider.decision", _decision(known))
                return known
            scope = f"authorize:{request.region}"
            refusal = await self._misbehave(scope, span, request.region, idempotency_key)
            if refusal is not None:
                return refusal
            declined = request.card_token in DECLINING_TOKENS or self.faults.roll(
                self._fault(scope).decline_rate
            )
            answer = AuthorizationOut(
                authorization_id=f"auth_{uuid.uuid4().hex[:16]}",
                status="declined" if declined else "approved",
                decline_code="do_not_honor" if declined else None,
            )
            with self._lock:
                answer = self._authorizations.setdefault(idempotency_key, answer)
            span.set_attribute("provider.decision", _decision(answer))
            return answer

    async def void(self, authorization_id: str) -> bool:
        """Release a hold; voiding twice is fine. False when the authorization is unknown."""
        with tracer.start_as_current_span("provider.void") as span, self._lock:
            for key, answer in self._authorizations.items():
                if answer.authorization_id == authorization_id:
                    self._authorizations[key] = answer.model_copy(update={"status": "voided"})
                    span.set_attribute("provider.decision", "approved")
                    return True
            span.set_attribute("provider.decision", "declined")
            return False

    async def create_invoice(
        self, order_id: str, idempotency_key: str, account_tier: str | None = None
    ) -> InvoiceOut | Refusal:
        with tracer.start_as_current_span("provider.invoice") as span:
            with self._lock:
                known = self._invoices.get(idempotency_key)
            if known is not None:
                return known
            refusal = await self._misbehave("invoice", span)
            if refusal is not None:
                return refusal
            failing = self.switches.params("invoice.gateway_failure", account_tier) if account_tier else None
            if isinstance(failing, ErrorRateParams) and self.faults.roll(failing.error_rate):
                span.set_attribute("provider.decision", "error")
                return Refusal(503, None)
            span.set_attribute("provider.decision", "approved")
            with self._lock:
                return self._invoices.setdefault(
                    idempotency_key, InvoiceOut(invoice_number=f"INV-{uuid.uuid4().hex[:10].upper()}")
                )


def _decision(answer: AuthorizationOut) -> str:
    return "approved" if answer.status == "approved" else "declined"
