"""Every HTTP service's OpenAPI, fuzzed with schemathesis against the real processes: no 5xx.

Valid and invalid requests (schemathesis' positive and negative modes) go to each operation of
each service on the running shop (real Postgres, real provider). With every dependency up, a
5xx of any kind (a 503 is documented only for an outage) means bad input reached code that
did not expect it: validation belongs in the schemas, error mapping in the one handler.
Example counts are bounded so the whole run stays within a minute or two on two cores.

The fault control is not a service route any more (it is `wayfinder faults serve`, loopback and
token only, with its own validation tests in tests/unit/scenarios), so nothing here switches a
fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import Shop

EXAMPLES_PER_OPERATION = 25  # per generation mode


@dataclass(frozen=True)
class ServerError:
    operation: str
    status: int
    body: str
    case: str


def _port(shop: Shop, service: str) -> int:
    name = {"checkout-api": "checkout", "payment-provider": "provider"}.get(service, service)
    port: int = getattr(shop.config, f"{name}_port")
    return port


def _fuzz(base_url: str) -> tuple[int, list[ServerError]]:
    """Run every operation's examples; returns (requests sent, server errors seen)."""
    import hypothesis
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=10)
    seen: list[int] = []
    errors: list[ServerError] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _examples(operation, mode, base_url, seen, errors)()
            except hypothesis.errors.Unsatisfiable:
                # An operation without parameters or body has no invalid request to make.
                if mode is GenerationMode.POSITIVE:
                    raise
    return len(seen), errors


def _examples(
    operation: Any, mode: Any, base_url: str, seen: list[int], errors: list[ServerError]
) -> Callable[[], None]:
    """A Hypothesis test that sends the operation's bounded examples and records every 5xx."""
    import hypothesis
    import schemathesis
    from hypothesis import HealthCheck, Phase

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,  # no example database on disk: every run starts fresh
        derandomize=True,  # the same examples every run, so a failure reproduces
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, timeout=30)
        seen.append(response.status_code)
        if response.status_code >= 500:
            name = f"{operation.method.upper()} {operation.path}"
            errors.append(ServerError(name, response.status_code, response.text[:200], repr(case)[:400]))

    return send


@pytest.mark.parametrize("service", ["checkout-api", "inventory", "payment", "payment-provider"])
def test_no_request_makes_a_service_fail(shop: Shop, service: str) -> None:
    sent, errors = _fuzz(f"http://127.0.0.1:{_port(shop, service)}")
    assert sent >= EXAMPLES_PER_OPERATION, f"only {sent} requests reached {service}"
    assert not errors, "\n".join(map(str, errors))
