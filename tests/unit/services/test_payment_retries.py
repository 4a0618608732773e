"""payment's provider client: one attempt per request, backoff, Retry-After, budget and deadline."""

from __future__ import annotations

import httpx
import pytest
from payment.clients import ProviderClient, ProviderUnavailable, RetryPolicy
from payment.retry import Backoff, RetryBudget, parse_retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _client(
    answers: list[httpx.Response | Exception],
    clock: FakeClock,
    budget: RetryBudget | None = None,
    max_attempts: int = 4,
) -> tuple[ProviderClient, list]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://provider")
    policy = RetryPolicy(
        max_attempts, attempt_timeout_s=2.0, total_timeout_s=8.0, backoff=Backoff(base_s=0.1, cap_s=2.0)
    )
    budget = budget or RetryBudget(ratio=0.2, min_per_window=100, window_s=10, clock=clock)
    return ProviderClient(http, policy, budget, sleep=clock.sleep, clock=clock), seen


BODY = {"amount_cents": 100, "region": "eu-west", "card_token": "tok_x"}


def test_rate_limit_then_success_honours_retry_after_and_sends_the_same_key() -> None:
    clock = FakeClock()
    client, seen = _client(
        [
            httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "rate_limited"}),
            httpx.Response(200, json={"authorization_id": "auth_1", "status": "approved"}),
        ],
        clock,
    )
    answer = client.authorize("order-1", BODY, "eu-west")
    assert answer.approved and answer.attempts == 2
    assert clock.sleeps[0] >= 1.0
    assert {r.headers["Idempotency-Key"] for r in seen} == {"order-1"}
    # Each attempt carries its retry.attempt for its own client span.
    assert [r.extensions["wayfinder.span_attributes"]["retry.attempt"] for r in seen] == [0, 1]


def test_decline_is_an_answer_not_a_retry() -> None:
    clock = FakeClock()
    client, seen = _client([httpx.Response(402, json={"status": "declined", "decline_code": "x"})], clock)
    answer = client.authorize("order-2", BODY, "eu-west")
    assert not answer.approved and answer.decline_code == "x" and len(seen) == 1


def test_gives_up_after_max_attempts_with_the_last_reason() -> None:
    clock = FakeClock()
    client, seen = _client([httpx.Response(503)] * 3 + [httpx.ConnectError("boom")], clock)
    with pytest.raises(ProviderUnavailable) as raised:
        client.authorize("order-3", BODY, "us-east")
    assert raised.value.reason == "connect_error" and raised.value.attempts == 4
    assert len(seen) == 4 and len(clock.sleeps) == 3


def test_timeouts_are_retried_as_timeouts() -> None:
    clock = FakeClock()
    client, _ = _client([httpx.ReadTimeout("slow"), httpx.Response(200, json={"status": "approved"})], clock)
    assert client.authorize("order-4", BODY, "ap-south").attempts == 2


def test_retry_after_beyond_the_deadline_stops_retrying() -> None:
    clock = FakeClock()
    client, seen = _client([httpx.Response(429, headers={"Retry-After": "60"})], clock)
    with pytest.raises(ProviderUnavailable) as raised:
        client.authorize("order-5", BODY, "eu-west")
    assert raised.value.reason == "rate_limited" and len(seen) == 1 and clock.sleeps == []


def test_an_exhausted_budget_stops_retries() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.0, min_per_window=0, window_s=10, clock=clock)
    client, seen = _client([httpx.Response(503)], clock, budget=budget)
    with pytest.raises(ProviderUnavailable):
        client.authorize("order-6", BODY, "eu-west")
    assert len(seen) == 1


def test_budget_allows_a_ratio_of_recent_requests_and_forgets_old_ones() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.5, min_per_window=0, window_s=10, clock=clock)
    for _ in range(4):
        budget.record_request()
    assert [budget.try_spend() for _ in range(3)] == [True, True, False]
    clock.now += 11
    assert budget.try_spend() is False  # no recent requests, no budget
    budget.record_request()
    budget.record_request()
    assert budget.try_spend() is True


def test_backoff_is_full_jitter_capped() -> None:
    backoff = Backoff(base_s=0.1, cap_s=1.0)
    assert backoff.delay_s(0, rng=lambda: 1.0) == pytest.approx(0.1)
    assert backoff.delay_s(3, rng=lambda: 1.0) == pytest.approx(0.8)
    assert backoff.delay_s(10, rng=lambda: 1.0) == pytest.approx(1.0)
    assert backoff.delay_s(5, rng=lambda: 0.0) == 0.0


@pytest.mark.parametrize(
    ("header", "expected"), [("2", 2.0), ("0.5", 0.5), (None, None), ("soon", None), ("-1", None)]
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected
