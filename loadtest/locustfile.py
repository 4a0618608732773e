"""The shop's customers, for Locust: browse, check out, look the order up; now and then a retry or a decline.

Every request carries the W3C baggage entry `synthetic=true`; the shop turns it into
`user_agent.synthetic.type=test` on the spans where the traffic enters each service, so load
can be told apart from real traffic (and filtered out) in every trace.

Options (command line, LOCUST_* environment variables, or the web UI): --region-mix,
--tier-mix, --rate, --decline-ratio, --replay-ratio. A failure is any answer a real client
would not expect; Locust records it under the API's stable `error` code.
"""

from __future__ import annotations

import argparse
import random
import uuid
from collections.abc import Collection
from typing import Any

import gevent
import requests
from locust import HttpUser, events, task
from locust.user.wait_time import constant_pacing
from traffic_mix import (
    ACCOUNTS_BY_TIER,
    DEFAULT_REGION_MIX,
    DEFAULT_TIER_MIX,
    REGIONS,
    TIERS,
    canonical_mix,
    parse_mix,
)

SYNTHETIC_BAGGAGE = "synthetic=true"
APPROVING_CARD = "tok_visa"
DECLINING_CARD = "tok_decline"  # the simulated provider always declines it (402 payment_declined)
# An impatient client gives up on its first try this soon, then retries with the same key.
IMPATIENT_TIMEOUT_S = 0.05
CHECKOUT_TIMEOUT_S = 30.0
REPLAY_ATTEMPTS = 5
# Enough stock that buying never turns into out_of_stock noise (the limited print has 3).
MIN_STOCK_TO_BUY = 50


def _mix_option(known: tuple[str, ...]) -> Any:
    def check(text: str) -> str:
        try:
            return canonical_mix(text, known)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check


def _ratio(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a ratio between 0 and 1")
    return value


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--region-mix",
        type=_mix_option(REGIONS),
        default=DEFAULT_REGION_MIX,
        env_var="LOCUST_REGION_MIX",
        help=f"weights of {', '.join(REGIONS)}",
    )
    parser.add_argument(
        "--tier-mix",
        type=_mix_option(TIERS),
        default=DEFAULT_TIER_MIX,
        env_var="LOCUST_TIER_MIX",
        help=f"weights of the account tiers {', '.join(TIERS)}",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        env_var="LOCUST_RATE",
        help="journeys per second, all users together (0: each user pauses 0.5-2 s instead)",
    )
    parser.add_argument(
        "--decline-ratio",
        type=_ratio,
        default=0.05,
        env_var="LOCUST_DECLINE_RATIO",
        help="share of checkouts paying with a declining card",
    )
    parser.add_argument(
        "--replay-ratio",
        type=_ratio,
        default=0.05,
        env_var="LOCUST_REPLAY_RATIO",
        help="share of checkouts whose client times out and retries with the same key",
    )


def _pick(weights: dict[str, float]) -> str:
    names = list(weights)
    return random.choices(names, weights=[weights[n] for n in names])[0]


def _error_code(response: Any) -> str:
    """The API's stable `error` code, else what went wrong on the way (bounded names only)."""
    if not response.status_code:  # no answer at all: Locust keeps the exception in .error
        error = getattr(response, "error", None)
        return "client_timeout" if isinstance(error, requests.Timeout) else "connection_error"
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    return code if isinstance(code, str) and code else f"http_{response.status_code}"


def _settle(response: Any, expected: Collection[int]) -> bool:
    """Mark a `catch_response` request: success on an expected status, else failure by code."""
    if response.status_code in expected:
        response.success()
        return True
    response.failure(_error_code(response))
    return False


class ShopCustomer(HttpUser):
    """A shop customer; each checkout draws its region and account tier from the mixes."""

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.regions = parse_mix(getattr(options, "region_mix", DEFAULT_REGION_MIX), REGIONS)
        self.tiers = parse_mix(getattr(options, "tier_mix", DEFAULT_TIER_MIX), TIERS)
        self.rate = float(getattr(options, "rate", 0.0) or 0.0)
        self.decline_ratio = float(getattr(options, "decline_ratio", 0.05))
        self.replay_ratio = float(getattr(options, "replay_ratio", 0.05))
        self.client.headers.update({"baggage": SYNTHETIC_BAGGAGE, "User-Agent": "wayfinder-loadgen"})

    def wait_time(self) -> float:
        if self.rate <= 0:
            return random.uniform(0.5, 2.0)
        # Each user paces at its share of the rate at full strength, so a stepped shape that
        # runs a fraction of the users runs the same fraction of the rate.
        users = max(1, int(getattr(self.environment.parsed_options, "num_users", 1) or 1))
        return constant_pacing(users / self.rate)(self)

    @task(3)
    def browse(self) -> None:
        """Look at the catalogue and leave."""
        self._catalogue()

    @task(7)
    def buy(self) -> None:
        """Browse, check out with a fresh Idempotency-Key, then look the order up."""
        products = self._catalogue()
        if not products:
            return
        declining = random.random() < self.decline_ratio
        expected = {402} if declining else {201}
        body = self._order(products, DECLINING_CARD if declining else APPROVING_CARD)
        key = f"load-{uuid.uuid4()}"
        if random.random() < self.replay_ratio:
            answer = self._checkout_after_timeout(key, body, expected)
        else:
            answer = self._checkout(key, body, expected, "/checkout")
        if answer is not None and answer.get("order_id") and not declining:
            with self.client.get(
                f"/orders/{answer['order_id']}", name="/orders/{order_id}", catch_response=True
            ) as response:
                _settle(response, {200})

    def _catalogue(self) -> list[dict[str, Any]]:
        with self.client.get("/products", catch_response=True) as response:
            if not _settle(response, {200}):
                return []
            return [p for p in response.json() if p.get("stock", 0) >= MIN_STOCK_TO_BUY]

    def _order(self, products: list[dict[str, Any]], card: str) -> dict[str, Any]:
        tier = _pick(self.tiers)
        lines = random.sample(products, k=min(len(products), random.choice((1, 1, 1, 2, 3))))
        return {
            "account_id": random.choice(ACCOUNTS_BY_TIER[tier]),
            # example.com is reserved for examples: never anybody's address.
            "email": "load.customer@example.com",
            "region": _pick(self.regions),
            "items": [{"sku": p["sku"], "quantity": random.randint(1, 3)} for p in lines],
            "payment": {"card_token": card},
        }

    def _checkout(
        self, key: str, body: dict[str, Any], expected: set[int], name: str
    ) -> dict[str, Any] | None:
        with self.client.post(
            "/checkout",
            json=body,
            headers={"Idempotency-Key": key},
            name=name,
            timeout=CHECKOUT_TIMEOUT_S,
            catch_response=True,
        ) as response:
            return response.json() if _settle(response, expected) else None

    def _checkout_after_timeout(
        self, key: str, body: dict[str, Any], expected: set[int]
    ) -> dict[str, Any] | None:
        """An impatient client: gives up on the first try, then sends the same request again."""
        with self.client.post(
            "/checkout",
            json=body,
            headers={"Idempotency-Key": key},
            name="/checkout [impatient]",
            timeout=IMPATIENT_TIMEOUT_S,
            catch_response=True,
        ) as response:
            # Giving up is this client's own choice, and the server may still finish the order:
            # what counts is that the retries below get the one answer for the key.
            response.success()
        for attempt in range(REPLAY_ATTEMPTS):
            with self.client.post(
                "/checkout",
                json=body,
                headers={"Idempotency-Key": key},
                name="/checkout [retry]",
                timeout=CHECKOUT_TIMEOUT_S,
                catch_response=True,
            ) as response:
                still_running = response.status_code == 409 and _error_code(response) == "request_in_progress"
                if not still_running or attempt == REPLAY_ATTEMPTS - 1:
                    return response.json() if _settle(response, expected) else None
                response.success()  # the first try still holds the key: wait for it, as a client should
            gevent.sleep(0.2 * (attempt + 1))
        return None
