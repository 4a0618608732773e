"""`wayfinder scenario start provider-rate-limit-eu-west --seed 1` against real processes: a real
per-region token bucket meets the load, a trace shows the article's shape (eu-west only), and
the local Prometheus, switched to the training-speed rules for the run, fires the alert."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from wayfinder.local.prometheus import LocalPrometheus
from wayfinder.scenarios import rulesback
from wayfinder.scenarios.paths import StatePaths
from wayfinder.scenarios.run import runner_pid

from tests.e2e.conftest import Shop
from tests.e2e.scenario_support import rule_folders, wayfinder
from tests.support import poll_until


def _attempts(shop: Shop, authorize: Any) -> list[Any]:
    spans = shop.store.spans(trace_id=authorize.trace_id)
    return sorted(
        (
            s
            for s in spans
            if s.kind == "CLIENT"
            and s.service_name == "payment"
            and s.attributes.get("server.port") == shop.config.provider_port
            and s.parent_span_id == authorize.span_id
        ),
        key=lambda s: s.start_unix_nano,
    )


def test_the_walkthrough_scenario_produces_the_articles_trace(
    shop: Shop, prometheus: LocalPrometheus
) -> None:
    since = time.time_ns()
    poll_until(lambda: rule_folders(prometheus) is not None, "the local Prometheus with its rules")
    started = wayfinder(
        shop,
        "scenario",
        "start",
        "provider-rate-limit-eu-west",
        "--seed",
        "1",
        "--speed",
        "10",
        prometheus=prometheus,
    )
    assert started.returncode == 0, started.stderr
    assert "provider-rate-limit" not in started.stdout  # the output names no scenario
    paths = StatePaths(shop.config.home)
    try:
        poll_until(
            lambda: rule_folders(prometheus) == {"rules-training"},
            "the local Prometheus switched to the training-speed rules",
        )
        status = wayfinder(shop, "scenario", "status", "--json", prometheus=prometheus)
        assert '"running": true' in status.stdout and "eu-west" not in status.stdout
        assert "provider-rate-limit" not in status.stdout
        # Process titles: the runner's command line names only the state folder.
        pid = runner_pid(paths)
        assert pid is not None
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert "rate" not in cmdline.replace(str(shop.config.home), "") and "eu-west" not in cmdline

        # Each authorization is read once: its attempts end before it does, so they are stored
        # by the time it is (re-reading every trace on every poll would starve the shop).
        answers: dict[str, str] = {}
        shaped: list[Any] = []

        def articles_shape() -> Any:
            for authorize in shop.store.spans(name="payment.authorize", since_unix_nano=since):
                if authorize.span_id in answers:
                    continue
                codes = [
                    (a.attributes.get("retry.attempt"), a.attributes.get("http.response.status_code"))
                    for a in _attempts(shop, authorize)
                ]
                answers[authorize.span_id] = " ".join(str(code) for _, code in codes)
                if codes == [(0, 429), (1, 429), (2, 200)]:
                    shaped.append(authorize)
            return shaped[0] if shaped else None

        try:
            authorize = poll_until(
                articles_shape, "a payment.authorize with attempts 0, 1 -> 429 and 2 -> 200", 150
            )
        except AssertionError as exc:
            # What the limit did instead: the provider's answers per authorization, counted.
            seen = Counter(answers.values()).most_common()
            raise AssertionError(f"{exc}; answers seen: {dict(seen)}") from None
        assert authorize.attributes["region"] == "eu-west"
        assert authorize.attributes["payment.outcome"] == "authorized"

        # The logs of that trace: the provider's 429 and its Retry-After, once per refused attempt.
        def rate_limit_lines() -> list[Any] | None:
            lines = [
                record
                for record in shop.store.logs(trace_id=authorize.trace_id)
                if record.body == "payment provider rate-limited the request"
            ]
            return lines if len(lines) >= 2 else None

        rate_limited = poll_until(rate_limit_lines, "the trace's two rate-limit log lines")
        assert sorted(r.attributes["retry.attempt"] for r in rate_limited) == [0, 1]
        assert {r.attributes["provider.retry_after_s"] for r in rate_limited} == {1}
        assert {r.attributes["region"] for r in rate_limited} == {"eu-west"}
        # Regional, not fleet-wide: no other region's provider call was refused.
        refused = [
            s
            for s in shop.store.spans(name="provider.authorize", since_unix_nano=since)
            if s.attributes.get("provider.decision") == "rate_limited"
        ]
        assert refused and {s.attributes["region"] for s in refused} == {"eu-west"}

        # The alert the trainee starts from, firing in local mode's Prometheus at training speed.
        def firing() -> list[str] | None:
            status = wayfinder(shop, "scenario", "status", "--json", prometheus=prometheus)
            alerts = json.loads(status.stdout)["firing_alerts"] or []
            return alerts if "CheckoutLatencyHigh" in alerts else None

        poll_until(firing, "CheckoutLatencyHigh firing in the local Prometheus", 150)
        # The trainer's view: the timeline records the switch, sealed from everyone else.
        assert b"rate_limit" not in paths.timeline.read_bytes()
        revealed = _wayfinder_revealed(shop)
        assert "provider-rate-limit-eu-west" in revealed and "provider.rate_limit" in revealed
    finally:
        stopped = wayfinder(shop, "scenario", "stop", prometheus=prometheus)
    assert stopped.returncode == 0, stopped.stderr
    assert runner_pid(paths) is None
    # The training rules stay until the real-speed rules' 5m windows no longer see the run, so
    # its alerts resolve at training speed and do not come back two minutes after the stop.
    back = rulesback.pending(paths)
    assert back is not None and 300 <= back - time.time() <= 330, back
    assert rule_folders(prometheus) == {"rules-training"}
    status = wayfinder(shop, "scenario", "status", prometheus=prometheus)
    assert "alert rules: training speed until" in status.stdout
    assert not rulesback.switch_back_when_due(paths)  # not yet due
    # Due (as it will be in five minutes): the waiting process's switch, done here and now.
    assert rulesback.switch_back_when_due(paths, now=back)
    poll_until(lambda: rule_folders(prometheus) == {"rules"}, "the real-speed rules back after the run")
    assert rulesback.pending(paths) is None
    assert shop.faults.state().entries == []


def _wayfinder_revealed(shop: Shop) -> str:
    result = wayfinder(shop, "scenario", "status", "--reveal", WAYFINDER_TRAINER_TOKEN=shop.faults.token)
    assert result.returncode == 0, result.stderr
    return result.stdout
