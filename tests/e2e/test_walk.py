"""`wayfinder walk provider-rate-limit-eu-west` on real processes with a real local Prometheus,
Enter fed on stdin: the article's incident, step by step, from the captured telemetry alone."""

from __future__ import annotations

import re
from typing import Any

from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.run import runner_pid

from tests.e2e.conftest import Shop
from tests.e2e.scenario_support import wayfinder

STEPS = [
    "the alert",
    "the metric that moved, and where",
    "a representative trace",
    "payment.authorize's attributes, and its children's",
    "the logs of that trace",
    "the scope: one slice, or everywhere?",
]


def test_a_walk_goes_from_the_alert_to_the_scope_and_leaves_the_shop_healthy(
    shop: Shop, prometheus: Any
) -> None:
    walked = wayfinder(
        shop,
        "walk",
        "provider-rate-limit-eu-west",
        "--seed",
        "1",
        prometheus=prometheus,
        stdin="\n" * len(STEPS),
        timeout_s=420,
        embedded_store=True,
    )
    out = walked.stdout
    assert walked.returncode == 0, out[-3000:] + walked.stderr[-2000:]
    assert re.findall(r"^== Step \d: (.+)$", out, flags=re.M) == STEPS
    assert out.count("[Enter] next step") == len(STEPS)
    # Step 1: the alert, for eu-west only.
    alert = out[out.index("== Step 1") : out.index("== Step 2")]
    assert "FIRING  CheckoutLatencyHigh" in alert and "region=eu-west" in alert
    # Step 2: eu-west's p95 leads the breakdown (the rows are sorted, the highest first).
    metric = out[out.index("== Step 2") : out.index("== Step 3")]
    rows = [
        line.split()[0] for line in metric.splitlines() if re.match(r"^(us-east|eu-west|ap-south) ", line)
    ]
    assert rows[0] == "eu-west", metric
    # Step 3: a slow eu-west trace with payment.authorize marked; step 4: its provider attempts,
    # refused with 429 before one went through.
    assert "▶ payment" in out and "payment.authorize" in out
    attempts = out[out.index("== Step 4") : out.index("== Step 5")]
    codes = re.findall(r"http.response.status_code=(\d+) region=eu-west retry.attempt=(\d)", attempts)
    # The last attempt got through the limit: authorized (200), or a card the load declines on
    # purpose (402, about 2 % of its checkouts); every earlier one was refused with 429.
    assert codes and codes[-1][0] in {"200", "402"} and all(code == "429" for code, _ in codes[:-1])
    assert [int(n) for _, n in codes] == list(range(len(codes)))
    # Step 5: the logs of that trace show the provider's refusal and its Retry-After.
    logs = out[out.index("== Step 5") : out.index("== Step 6")]
    assert "payment provider rate-limited the request" in logs and "retry-after=1" in logs
    # Step 6: regional, not fleet-wide.
    assert "Only eu-west stands out" in out
    # The walk stopped its scenario: no runner, no fault left on.
    assert "stopped: faults off" in out
    assert runner_pid(StatePaths(shop.config.home)) is None
    assert shop.faults.state().entries == []
