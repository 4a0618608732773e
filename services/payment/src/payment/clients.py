"""The outbound call to payment-provider: one client span per attempt, retries, budget, deadline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NoReturn

import httpx
from opentelemetry import metrics
from wayfinder_common.metrics import LATENCY_BUCKETS_S
from wayfinder_common.telemetry import SPAN_ATTRIBUTES_EXTENSION

from payment.retry import Backoff, RetryBudget, parse_retry_after

log = logging.getLogger(__name__)
meter = metrics.get_meter("payment")
request_duration = meter.create_histogram(
    "payment.provider.request.duration",
    unit="s",
    description="Duration of each attempt to call the payment provider",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
)
retries = meter.create_counter(
    "payment.provider.retries",
    unit="{retry}",
    description="Retries of provider calls (retry amplification), by region and reason",
)
# The retries the budget refused: with `retries` it is the retry demand, which keeps growing with
# the provider's failures after the budget has flattened the retries actually sent.
retries_refused = meter.create_counter(
    "payment.provider.retry_budget.exhausted",
    unit="{retry}",
    description="Retries of provider calls refused because the retry budget was spent, by region and reason",
)

RetryReason = Literal["rate_limited", "timeout", "unavailable", "connect_error"]


@dataclass(frozen=True)
class ProviderAnswer:
    approved: bool
    authorization_id: str | None
    decline_code: str | None
    attempts: int


class ProviderUnavailable(Exception):
    """Every allowed attempt failed; `reason` is the last failure's bounded reason."""

    def __init__(self, reason: RetryReason, attempts: int) -> None:
        super().__init__(f"payment provider unavailable after {attempts} attempt(s): {reason}")
        self.reason = reason
        self.attempts = attempts


@dataclass
class RetryPolicy:
    max_attempts: int
    attempt_timeout_s: float
    total_timeout_s: float
    backoff: Backoff


class ProviderClient:
    def __init__(
        self,
        http: httpx.Client,
        policy: RetryPolicy,
        budget: RetryBudget,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._policy = policy
        self._budget = budget
        self._sleep = sleep
        self._clock = clock

    def authorize(self, idempotency_key: str, body: dict[str, object], region: str) -> ProviderAnswer:
        deadline = self._clock() + self._policy.total_timeout_s
        self._budget.record_request()
        reason: RetryReason = "unavailable"
        for attempt in range(self._policy.max_attempts):
            started = self._clock()
            outcome = self._attempt(idempotency_key, body, region, attempt, deadline)
            if isinstance(outcome, ProviderAnswer):
                return outcome
            reason, retry_after = outcome
            delay = self._policy.backoff.delay_s(attempt)
            if retry_after is not None:
                delay = max(delay, retry_after)
            last = attempt + 1 >= self._policy.max_attempts
            if last or self._clock() + delay >= deadline:
                self._give_up(reason, attempt, region, "payment provider gave no answer; giving up")
            if not self._budget.try_spend():
                retries_refused.add(1, {"region": region, "retry.reason": reason})
                self._give_up(reason, attempt, region, "retry budget exhausted; giving up")
            retries.add(1, {"region": region, "retry.reason": reason})
            log.warning(
                "payment provider refused; retrying",
                extra={
                    "retry.attempt": attempt,
                    "retry.reason": reason,
                    "region": region,
                    "retry.delay_ms": round(delay * 1000),
                    "attempt.duration_ms": round((self._clock() - started) * 1000),
                },
            )
            self._sleep(delay)
        raise ProviderUnavailable(reason, self._policy.max_attempts)

    def _give_up(self, reason: RetryReason, attempt: int, region: str, message: str) -> NoReturn:
        log.warning(message, extra={"retry.attempt": attempt, "retry.reason": reason, "region": region})
        raise ProviderUnavailable(reason, attempt + 1)

    def void(self, authorization_id: str) -> None:
        """Release a hold at the provider; one attempt (the caller's sweeper retries later)."""
        try:
            response = self._http.post(
                f"/v1/authorizations/{authorization_id}/void", timeout=self._policy.attempt_timeout_s
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable("connect_error", 1) from exc
        if response.status_code not in (200, 404):  # 404: the provider never held it
            raise ProviderUnavailable("unavailable", 1)

    def _attempt(
        self, key: str, body: dict[str, object], region: str, attempt: int, deadline: float
    ) -> ProviderAnswer | tuple[RetryReason, float | None]:
        timeout = max(0.05, min(self._policy.attempt_timeout_s, deadline - self._clock()))
        started = self._clock()
        try:
            response = self._http.post(
                "/v1/authorizations",
                json=body,
                timeout=timeout,
                headers={"Idempotency-Key": key},
                # On the attempt's own span, so the attempt that failed reads whole (attempt, region).
                extensions={SPAN_ATTRIBUTES_EXTENSION: {"retry.attempt": attempt, "region": region}},
            )
        except httpx.TimeoutException:
            request_duration.record(self._clock() - started, {"region": region, "error.type": "timeout"})
            return "timeout", None
        except httpx.TransportError:
            request_duration.record(
                self._clock() - started, {"region": region, "error.type": "connect_error"}
            )
            return "connect_error", None
        request_duration.record(
            self._clock() - started,
            {"region": region, "http.response.status_code": response.status_code},
        )
        if response.status_code in (200, 402):
            answer = response.json()
            return ProviderAnswer(
                approved=response.status_code == 200,
                authorization_id=answer.get("authorization_id"),
                decline_code=answer.get("decline_code"),
                attempts=attempt + 1,
            )
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            # The provider's own words are local detail: a log line, not a span attribute.
            log.warning(
                "payment provider rate-limited the request",
                extra={
                    "provider.status_code": 429,
                    "provider.error": _error_code(response),
                    "retry.attempt": attempt,
                    "region": region,
                    **({} if retry_after is None else {"provider.retry_after_s": round(retry_after)}),
                },
            )
            return "rate_limited", retry_after
        log.warning(
            "payment provider failed the request",
            extra={
                "provider.status_code": response.status_code,
                "provider.error": _error_code(response),
                "retry.attempt": attempt,
                "region": region,
            },
        )
        return "unavailable", None


def _error_code(response: httpx.Response) -> str:
    try:
        code = response.json().get("error", "unknown")
    except ValueError:
        return "unparseable"
    return str(code)[:64]
