"""Drills on real processes with a real local Prometheus: the page, the trainee's looks recorded,
the answer graded (right with evidence, right citing a healthy trace, "nothing is wrong"), the
debrief and the history."""

from __future__ import annotations

import json
import time
from typing import Any

from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.run import runner_pid

from tests.e2e.conftest import Shop
from tests.e2e.scenario_support import wayfinder
from tests.support import poll_until


def _cli(shop: Shop, prometheus: Any, *args: str, **extra: str) -> Any:
    return wayfinder(shop, *args, prometheus=prometheus, embedded_store=True, timeout_s=400, **extra)


def _start(shop: Shop, prometheus: Any, scenario: str, *flags: str) -> str:
    started = _cli(
        shop,
        prometheus,
        "drill",
        "start",
        "--scenario",
        scenario,
        "--seed",
        "1",
        *flags,
        WAYFINDER_TRAINER_TOKEN=shop.faults.token,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    assert scenario not in started.stdout  # the trainee is told the symptom, never the name
    return started.stdout


def _rate_limited_trace(shop: Shop, since_ns: int) -> str:
    def found() -> str | None:
        for span in shop.store.spans(name="provider.authorize", since_unix_nano=since_ns):
            if span.attributes.get("provider.decision") == "rate_limited":
                return span.trace_id
        return None

    return poll_until(found, "a rate-limited provider call in this drill", 150)


def _answer(shop: Shop, prometheus: Any, *args: str) -> dict[str, Any]:
    answered = _cli(shop, prometheus, "drill", "answer", *args, "--json")
    assert answered.returncode == 0, answered.stdout + answered.stderr
    return json.loads(answered.stdout.strip().splitlines()[-1])


RIGHT = (
    "--service",
    "payment",
    "--dependency",
    "payment-provider",
    "--scope",
    "region=eu-west",
    "--cause",
    "dependency_rate_limited",
)


def test_drills_are_graded_on_the_answer_the_evidence_and_the_path(shop: Shop, prometheus: Any) -> None:
    paths = StatePaths(shop.config.home)
    before = shop.checkout(region="eu-west")  # a healthy eu-west checkout, before any drill
    assert before.status_code == 201, before.text
    healthy = shop.trace_of(before)
    shop.spans_until(healthy, {"provider.authorize"})

    # 1. Answered right, with evidence, by the ideal path (the page first).
    since = time.time_ns()
    page = _start(shop, prometheus, "provider-rate-limit-eu-west")
    assert "PAGE: CheckoutLatencyHigh is firing" in page
    evidence = _rate_limited_trace(shop, since)
    looks = [
        ("alerts",),
        ("metrics", "checkout.request.duration", "--by", "region", "--window", "30s"),
        ("traces", "--span", "provider.authorize", "--attr", "region=eu-west"),
        ("trace", evidence),
        ("logs", "--trace", evidence),
        ("metrics", "payment_provider_retries_total", "--by", "region", "--window", "30s"),
    ]
    for look in looks:
        seen = _cli(shop, prometheus, *look)
        assert seen.returncode == 0, seen.stdout + seen.stderr
    right = _answer(shop, prometheus, *RIGHT, "--evidence", evidence)
    assert right["scenario"] == "provider-rate-limit-eu-west"
    assert right["score"] == 100 and set(right["stages"].values()) == {1.0}, right
    assert right["path_grade"] == 1.0 and right["dead_ends"] == [], right
    assert runner_pid(paths) is None  # the answer ended the drill

    # 2. The same answer by another path: a hint, a dead end, no alert and no breakdown.
    since = time.time_ns()
    _start(shop, prometheus, "provider-rate-limit-eu-west", "--wait", "0")
    hint = _cli(shop, prometheus, "drill", "hint")
    assert hint.returncode == 0 and "Next step: wayfinder alerts" in hint.stdout, hint.stdout
    evidence = _rate_limited_trace(shop, since)
    for look in [("metrics", "checkout.request.duration", "--by", "account.tier"), ("trace", evidence)]:
        assert _cli(shop, prometheus, *look).returncode == 0
    other_path = _answer(shop, prometheus, *RIGHT, "--evidence", evidence)
    assert other_path["score"] == 100, other_path
    assert other_path["path_grade"] < right["path_grade"], other_path
    assert other_path["hints"] == 1 and other_path["dead_ends"], other_path

    # 3. Right, but citing a healthy trace from before the incident: no credit for evidence.
    _start(shop, prometheus, "provider-rate-limit-eu-west", "--wait", "0")
    lucky = _answer(shop, prometheus, *RIGHT, "--evidence", healthy)
    assert lucky["stages"]["evidence"] == 0.0 and lucky["score"] == 80, lucky
    # Refused for being older than the fault, or (answered before the fault began) for not
    # carrying the incident's signature: either way the trace says nothing about the incident.
    note = lucky["notes"]["evidence"]
    assert "before the fault" in note or "provider.decision=rate_limited" in note, note

    # 4. Wrong: the debrief says where the path left the ideal one.
    _start(shop, prometheus, "provider-rate-limit-eu-west", "--wait", "0")
    assert (
        _cli(shop, prometheus, "metrics", "checkout.request.duration", "--by", "http.route").returncode == 0
    )
    wrong = _cli(
        shop,
        prometheus,
        "drill",
        "answer",
        "--service",
        "inventory",
        "--scope",
        "region=us-east",
        "--cause",
        "database_slow",
    )
    assert wrong.returncode == 0, wrong.stdout + wrong.stderr
    assert "Score 15/100" in wrong.stdout, wrong.stdout
    assert "you skipped wayfinder alerts" in wrong.stdout and "by=http_route" in wrong.stdout

    # 5. Nothing is wrong, and the trainee says so.
    quiet = _start(shop, prometheus, "no-incident")
    assert "TICKET:" in quiet
    calm = _answer(shop, prometheus, "--cause", "none")
    assert calm["scenario"] == "no-incident" and calm["score"] == 100, calm

    history = _cli(shop, prometheus, "drill", "history")
    rows = [
        line for line in history.stdout.splitlines() if "provider-rate-limit" in line or "no-incident" in line
    ]
    assert len(rows) == 5, history.stdout
    assert shop.faults.state().entries == []
