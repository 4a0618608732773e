"""`wayfinder verify`'s judging, on a fake query backend's answers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from wayfinder.navigator.tree import TraceSummary
from wayfinder.query.model import Alert, Answer, Breakdown, MetricRef, QueryError, Series, TraceQuery
from wayfinder.scenarios import catalog
from wayfinder.scenarios.healthy import healthy
from wayfinder.scenarios.model import MetricEvidence
from wayfinder.scenarios.verify import Check, judge_scope, passed, verify
from wayfinder.scenarios.verify_cli import render, run_window
from wayfinder.scenarios.walk import scope_verdict
from wayfinder.store.model import LogRecordRow

NOW = 1_800_000_000.0
SINCE = NOW - 120
LATENCY = MetricRef("payment_provider_request_duration_seconds", "histogram")


def _series(label: str, *values: float) -> Series:
    return Series(label, values[-1], tuple((NOW - 10 * i, v) for i, v in enumerate(values)))


def _breakdown(by: str, **peaks: tuple[float, ...]) -> Breakdown:
    return Breakdown(LATENCY, by, "p95", "30s", tuple(_series(k, *v) for k, v in peaks.items()))


def _alert(name: str, state: str = "firing", **labels: str) -> Alert:
    return Alert(name, state, {"alertname": name, **labels}, {}, "", "1")


def _log(trace_id: str, body: str) -> LogRecordRow:
    return LogRecordRow(0, "WARN", 13, body, trace_id, None, "payment", {}, {}, "payment")


@dataclass
class FakeBackend:
    """Canned answers; records the trace queries it was asked."""

    name: str = "fake"
    firing: list[Alert] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    traces: list[TraceSummary] = field(default_factory=list)
    failed: list[TraceSummary] = field(default_factory=list)
    logs: dict[str, list[LogRecordRow]] = field(default_factory=dict)
    asked: list[TraceQuery] = field(default_factory=list)
    filters: list[tuple[tuple[str, str], ...]] = field(default_factory=list)

    def alerts(self) -> Answer[list[Alert]]:
        return Answer(self.firing, "alerts")

    def fired(self, range_s: float) -> Answer[list[dict[str, str]]]:
        return Answer(self.history, "fired")

    def breakdown(
        self,
        metric: str,
        by: str | None,
        quantile: float,
        window: str,
        range_s: float,
        where: tuple[tuple[str, str], ...] = (),
    ) -> Answer[Breakdown]:
        self.filters.append(where)
        if metric not in self.breakdowns:
            raise QueryError(f"no metric named {metric!r}")
        return Answer(self.breakdowns[metric], metric)

    def exemplars(self, metric: str, by: str | None, range_s: float) -> Answer[list[object]]:
        return Answer([], metric)

    def search_traces(self, query: TraceQuery) -> Answer[list[TraceSummary]]:
        self.asked.append(query)
        return Answer(self.failed if query.errors else self.traces, "search")

    def trace(self, trace_id: str) -> Answer[list[object]]:
        return Answer([], trace_id)

    def trace_logs(self, trace_id: str) -> Answer[list[LogRecordRow]]:
        return Answer(self.logs.get(trace_id, []), trace_id)


def _trace(trace_id: str, start_s: float) -> TraceSummary:
    return TraceSummary(
        trace_id, "POST /checkout", "checkout-api", ["checkout-api"], int(start_s * 1e9), 0, 5, 0
    )


def _walkthrough_backend() -> FakeBackend:
    return FakeBackend(
        history=[{"alertname": "CheckoutLatencyHigh", "region": "eu-west"}],
        breakdowns={
            "payment_provider_retries_total": _breakdown(
                "region", **{"eu-west": (0.0, 0.4), "us-east": (0.0, 0.0)}
            )
        },
        traces=[_trace("a" * 32, NOW - 30), _trace("b" * 32, NOW - 20)],
        logs={"b" * 32: [_log("b" * 32, "payment provider rate-limited the request")]},
    )


def test_the_walkthrough_key_is_proven_element_by_element() -> None:
    backend = _walkthrough_backend()
    checks = verify(catalog.load("provider-rate-limit-eu-west"), backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert [c.element for c in checks] == ["alert", "scope", "span", "log"]
    assert passed(checks), render("x", checks)
    assert "fired (resolved since): region=eu-west" in checks[0].evidence
    # The trace reported is the one whose logs match, not merely the newest.
    assert "b" * 32 in checks[2].evidence and "rate-limited" in checks[3].evidence
    assert backend.asked[0].attributes == (("region", "eu-west"), ("provider.decision", "rate_limited"))


def test_a_missing_log_line_a_missing_alert_and_old_traces_fail() -> None:
    backend = _walkthrough_backend()
    backend.history = [{"alertname": "PaymentRetryAmplification"}]
    backend.logs = {}
    checks = verify(catalog.load("provider-rate-limit-eu-west"), backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert {c.element: c.ok for c in checks} == {"alert": False, "scope": True, "span": True, "log": False}
    assert not passed(checks)
    backend.traces = [_trace("c" * 32, SINCE - 1)]  # before the run started
    checks = verify(catalog.load("provider-rate-limit-eu-west"), backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert {c.element: c.ok for c in checks}["span"] is False


def test_the_affected_value_must_stand_out_from_every_other() -> None:
    metric = MetricEvidence(name="x", by="region", affected="ap-south")
    clear = _breakdown("region", **{"ap-south": (0.2, 1.9), "us-east": (0.2, 0.3), "eu-west": (0.25,)})
    assert judge_scope(metric, {"region": "ap-south"}, clear).ok
    close = _breakdown("region", **{"ap-south": (0.2, 0.5), "us-east": (0.3,)})
    assert not judge_scope(metric, {"region": "ap-south"}, close).ok
    absent = _breakdown("region", **{"us-east": (0.3,)})
    assert not judge_scope(metric, {"region": "ap-south"}, absent).ok
    # A peak earlier in the run counts: the fault may have recovered by now.
    recovered = _breakdown("region", **{"ap-south": (2.0, 0.2), "us-east": (0.2, 0.2)})
    assert judge_scope(metric, {"region": "ap-south"}, recovered).ok


def test_a_target_that_falls_stands_out_by_its_lowest_point_whatever_its_name_in_this_mode() -> None:
    metric = MetricEvidence(name="up", by="job", affected=["otel-collector", "telemetry-store"], falls=True)
    gap = _breakdown("job", **{"telemetry-store": (1, 0, 0, 1), "prometheus": (1, 1, 1, 1)})
    check = judge_scope(metric, "fleet-wide", gap)
    assert check.ok and "expected telemetry-store to fall below" in check.evidence
    compose = _breakdown("job", **{"otel-collector": (1, 0, 1), "prometheus": (1,), "tempo": (1,)})
    assert judge_scope(metric, "fleet-wide", compose).ok
    # Never down, or everything down at once (the monitoring's gap, not the pipeline's): no.
    steady = _breakdown("job", **{"telemetry-store": (1, 1), "prometheus": (1, 1)})
    assert not judge_scope(metric, "fleet-wide", steady).ok
    all_down = _breakdown("job", **{"telemetry-store": (1, 0), "prometheus": (1, 0)})
    assert not judge_scope(metric, "fleet-wide", all_down).ok
    # A fall needs something that stayed up to contrast with.
    alone = _breakdown("job", **{"telemetry-store": (1, 0)})
    assert not judge_scope(metric, "fleet-wide", alone).ok


def test_the_walk_says_what_verify_judges() -> None:
    metric = MetricEvidence(name="x", by="region", affected="eu-west")
    # 3x the others: verify's 2x says it stands out, and so must the walk (it once wanted 4x).
    clear = _breakdown("region", **{"eu-west": (2.7,), "us-east": (0.9,), "ap-south": (0.8,)})
    assert judge_scope(metric, {"region": "eu-west"}, clear).ok
    assert scope_verdict(metric, {"region": "eu-west"}, clear).startswith("Only eu-west stands out")
    close = _breakdown("region", **{"eu-west": (1.2,), "us-east": (0.9,)})
    assert "not alone" in scope_verdict(metric, {"region": "eu-west"}, close)
    fleet = MetricEvidence(name="x", by="region")
    alike = _breakdown("region", **{"eu-west": (1.0,), "us-east": (1.1,)})
    assert "fleet-wide" in scope_verdict(fleet, "fleet-wide", alike)
    apart = _breakdown("region", **{"eu-west": (0.2,), "us-east": (1.1,)})
    assert "differ" in scope_verdict(fleet, "fleet-wide", apart)
    falls = MetricEvidence(name="up", by="job", affected=["otel-collector", "telemetry-store"], falls=True)
    gap = _breakdown("job", **{"telemetry-store": (1, 0), "prometheus": (1, 1)})
    assert scope_verdict(falls, "fleet-wide", gap).startswith("Only telemetry-store went down")


def test_fleet_wide_and_no_incident_mean_nothing_stands_out() -> None:
    metric = MetricEvidence(name="x", by="region")
    alike = _breakdown("region", **{"a": (0.9,), "b": (1.1,), "c": (1.2,)})
    one_slow = _breakdown("region", **{"a": (0.3,), "b": (0.3,), "c": (1.2,)})
    for scope in ("fleet-wide", "none"):
        assert judge_scope(metric, scope, alike).ok
        assert not judge_scope(metric, scope, one_slow).ok
    assert not judge_scope(metric, "none", _breakdown("region")).ok  # no data proves nothing


def test_no_incident_fails_when_any_alert_fired() -> None:
    backend = FakeBackend(
        breakdowns={"checkout_request_duration_seconds_bucket": _breakdown("region", a=(0.3,), b=(0.35,))}
    )
    scenario = catalog.load("no-incident")
    assert passed(verify(scenario, backend, SINCE, NOW, "30s"))  # type: ignore[arg-type]
    backend.history = [{"alertname": "InvoicesMissing"}]
    checks = verify(scenario, backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert not passed(checks) and "InvoicesMissing" in checks[0].evidence


def test_a_backend_that_cannot_answer_is_a_missing_element_not_a_crash() -> None:
    checks = verify(catalog.load("provider-slow-ap-south"), FakeBackend(), SINCE, NOW, "30s")  # type: ignore[arg-type]
    scope = next(c for c in checks if c.element == "scope")
    assert scope.ok is False and "no answer" in scope.evidence


def _gauges(missing: float, dead: float) -> dict[str, Breakdown]:
    gauge = MetricRef("invoice_missing", "gauge")
    return {
        "invoice.missing": Breakdown(gauge, "order_age", "value", "5m", (Series("under_1m", missing),)),
        "invoice.dead_letters": Breakdown(gauge, "failure_reason", "value", "5m", (Series("gateway", dead),)),
    }


def test_healthy_needs_no_alert_pending_and_every_invoice() -> None:
    backend = FakeBackend(breakdowns=_gauges(0, 0))
    checks = healthy(backend, None)  # type: ignore[arg-type]
    assert passed(checks)  # the stock check is skipped (no database here), the rest holds
    assert [c.ok for c in checks] == [True, True, True, None]
    backend.firing = [_alert("CheckoutLatencyHigh", "pending", region="ap-south")]
    assert not passed(healthy(backend, None))  # type: ignore[arg-type]
    backend.firing = []
    backend.breakdowns = _gauges(3, 0)
    failed = [c for c in healthy(backend, None) if c.ok is False]  # type: ignore[arg-type]
    assert [c.element for c in failed] == ["every order invoiced"]


def test_nothing_checked_is_not_a_pass() -> None:
    assert not passed([Check("no reservation stuck", None, "not checked")])
    assert not passed([])


def test_the_window_is_the_rules_window_at_the_runs_speed() -> None:
    assert run_window(10) == "30s" and run_window(1) == "5m"


def test_the_keys_filter_goes_to_the_breakdown() -> None:
    backend = FakeBackend()
    verify(catalog.load("bad-release-inventory"), backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert backend.filters == [(("service_name", "inventory"),)]


def test_a_failure_logged_on_an_older_failed_trace_is_found() -> None:
    backend = _walkthrough_backend()
    backend.logs = {"d" * 32: [_log("d" * 32, "payment provider rate-limited the request")]}
    backend.failed = [_trace("d" * 32, SINCE + 5)]  # older than every trace of the plain search
    checks = verify(catalog.load("provider-rate-limit-eu-west"), backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert passed(checks) and "d" * 32 in checks[3].evidence


def test_verify_all_refuses_a_name_healthy_or_only_without_all(capsys: pytest.CaptureFixture[str]) -> None:
    from wayfinder.cli import main

    assert main(["verify", "--all", "no-incident"]) == 2
    assert main(["verify", "--all", "--healthy"]) == 2
    assert main(["verify", "--only", "no-incident"]) == 2
    assert "--only narrows --all" in capsys.readouterr().err


def test_lost_context_needs_the_publish_to_start_its_own_trace() -> None:
    scenario = catalog.load("lost-trace-context")
    joined = _trace("a" * 32, SINCE + 5)  # healthy: outbox.publish under the checkout's root
    backend = FakeBackend(traces=[joined])
    (span,) = verify(scenario, backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert span.ok is False and "starting its own trace" in span.evidence
    rooted = TraceSummary(
        "b" * 32, "outbox.publish", "outbox-relay", ["outbox-relay"], int((SINCE + 5) * 1e9), 0, 3, 0
    )
    backend.traces = [joined, rooted]
    (span,) = verify(scenario, backend, SINCE, NOW, "30s")  # type: ignore[arg-type]
    assert span.ok and "b" * 32 in span.evidence


def _failures(rate_per_s: float) -> Breakdown:
    """A failures counter's rate by reason over 100 s, oldest point first, as backends answer."""
    points = tuple((SINCE + 10 * i, rate_per_s) for i in range(11))
    unavailable = Series("gateway_unavailable", rate_per_s, points)
    other = Series("gateway_timeout", 0.0, tuple((t, 0.0) for t, _ in points))
    failures = MetricRef("invoice_create_failures_total", "counter")
    return Breakdown(failures, "failure_reason", "rate", "30s", (unavailable, other))


def test_sampling_is_proven_when_the_counter_counts_far_more_than_the_traces_show() -> None:
    scenario = catalog.load("sampling-trap")
    kept = [_trace(f"{i:032x}", SINCE + i) for i in range(1, 5)]
    backend = FakeBackend(breakdowns={"invoice_create_failures_total": _failures(0.4)}, traces=kept)
    checks = {c.element: c for c in verify(scenario, backend, SINCE, NOW, "30s")}  # type: ignore[arg-type]
    assert checks["sampled"].ok, checks["sampled"].evidence
    assert "counted about 40 over the run; 4 traces" in checks["sampled"].evidence
    counted_query = backend.asked[-1]
    assert counted_query.attributes == (("invoice.status", "failed"), ("account.tier", "free"))
    assert counted_query.limit >= 1000


def test_sampling_is_not_proven_when_every_failure_kept_its_trace_or_too_few_failed() -> None:
    scenario = catalog.load("sampling-trap")
    every = [_trace(f"{i:032x}", SINCE + 1) for i in range(1, 41)]
    backend = FakeBackend(breakdowns={"invoice_create_failures_total": _failures(0.4)}, traces=every)
    checks = {c.element: c for c in verify(scenario, backend, SINCE, NOW, "30s")}  # type: ignore[arg-type]
    assert checks["sampled"].ok is False and "40 traces" in checks["sampled"].evidence
    backend = FakeBackend(breakdowns={"invoice_create_failures_total": _failures(0.03)}, traces=[])
    checks = {c.element: c for c in verify(scenario, backend, SINCE, NOW, "30s")}  # type: ignore[arg-type]
    assert checks["sampled"].ok is False and "counted about 3" in checks["sampled"].evidence
