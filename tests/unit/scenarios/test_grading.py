"""A drill's grade: stages with partial credit, the evidence checked against the cited trace, and
the path graded against the ideal one (the drill on real processes: tests/e2e/test_drill.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wayfinder.scenarios import catalog
from wayfinder.scenarios.grading import Given, debrief, evidence_holds, grade, ideal_path
from wayfinder.store.model import SpanRecord

WALKTHROUGH = catalog.load("provider-rate-limit-eu-west")
RIGHT = Given("payment", "payment-provider", (("region", "eu-west"),), "dependency_rate_limited", "a" * 32)
FAULT_NS = 1_000 * 10**9


def _provider_span(start_s: int, **attributes: Any) -> SpanRecord:
    return SpanRecord(
        trace_id="a" * 32,
        span_id="1" * 16,
        parent_span_id=None,
        name="provider.authorize",
        kind="INTERNAL",
        start_unix_nano=start_s * 10**9,
        end_unix_nano=start_s * 10**9 + 80_000_000,
        status_code="UNSET",
        status_message="",
        service_name="payment-provider",
        attributes=attributes,
        resource={},
        scope_name="test",
    )


LIMITED = [_provider_span(1_100, region="eu-west", **{"provider.decision": "rate_limited"})]
HEALTHY = [_provider_span(1_100, region="eu-west", **{"provider.decision": "approved"})]
IDEAL = [
    {"what": "alerts"},
    {"what": "metrics", "name": "checkout.request.duration", "by": "region"},
    {"what": "traces", "attr": ["region=eu-west"]},
    {"what": "trace", "trace_id": "a" * 32},
    {"what": "logs", "trace_id": "a" * 32},
    {"what": "metrics", "name": "payment.provider.retries", "by": "region"},
]


def test_the_right_answer_by_the_ideal_path_scores_everything() -> None:
    result = grade(WALKTHROUGH, RIGHT, evidence_holds(WALKTHROUGH, LIMITED, FAULT_NS), IDEAL, 95)
    assert result.score == 100 and set(result.stages.values()) == {1.0}
    assert result.path_grade == 1.0 and not result.missed and result.dead_ends == []


def test_a_wrong_answer_scores_low_and_the_debrief_names_where_the_path_diverged() -> None:
    wrong = Given("inventory", None, (("region", "us-east"),), "database_slow", None)
    looks = [{"what": "alerts"}, {"what": "metrics", "name": "x", "by": "http.route"}]
    result = grade(WALKTHROUGH, wrong, evidence_holds(WALKTHROUGH, [], FAULT_NS), looks, 300)
    # 10 for seeing that something was wrong, 5 for the right dimension (region) of the scope.
    assert result.score == 15 and result.stages["scoped"] == 0.25
    text = "\n".join(debrief(WALKTHROUGH, result))
    assert "you skipped" in text and "--by region" in text
    assert "metrics by=http_route name=x" in text  # the dead end, named
    assert "dependency_rate_limited" in text


def test_partial_credit_for_part_of_the_localization_and_a_scope_too_wide() -> None:
    near = Given(
        "payment", None, (("region", "eu-west"), ("region", "us-east")), "dependency_rate_limited", None
    )
    result = grade(WALKTHROUGH, near, evidence_holds(WALKTHROUGH, [], FAULT_NS), IDEAL, 60)
    assert result.stages["localized"] == 0.5
    assert result.stages["scoped"] == 0.5
    assert result.stages["evidence"] == 0.0


def test_a_healthy_trace_or_one_from_before_the_fault_is_not_evidence() -> None:
    healthy = evidence_holds(WALKTHROUGH, HEALTHY, FAULT_NS)
    early = evidence_holds(WALKTHROUGH, [_provider_span(900, **LIMITED[0].attributes)], FAULT_NS)
    assert not healthy[0] and "provider.decision=rate_limited" in healthy[1]
    assert not early[0] and "before the fault" in early[1]
    # Under way when the fault began, refused by it after: that trace is evidence.
    root = _provider_span(900)
    in_flight = evidence_holds(WALKTHROUGH, [root, _provider_span(1_100, **LIMITED[0].attributes)], FAULT_NS)
    assert in_flight[0], in_flight[1]
    result = grade(WALKTHROUGH, RIGHT, healthy, IDEAL, 95)
    assert result.stages["evidence"] == 0.0 and result.score == 80


def test_the_same_answer_by_two_paths_gets_two_path_grades() -> None:
    evidence = evidence_holds(WALKTHROUGH, LIMITED, FAULT_NS)
    direct = grade(WALKTHROUGH, RIGHT, evidence, IDEAL, 90)
    wandering = [{"what": "traces"}, {"what": "metrics", "name": "x", "by": "service.version"}, *IDEAL[3:]]
    hinted = [*wandering, {"what": "hint"}]
    second = grade(WALKTHROUGH, RIGHT, evidence, hinted, 400)
    assert direct.score == second.score == 100
    assert direct.path_grade > second.path_grade
    assert second.hints == 1 and "wayfinder alerts" in second.missed


def test_nothing_wrong_is_an_answer() -> None:
    quiet = catalog.load("no-incident")
    none = Given(None, None, (), "none", None)
    assert grade(quiet, none, evidence_holds(quiet, [], None), [], 120).score == 100
    alarmed = Given("payment", None, (), "dependency_slow", None)
    assert grade(quiet, alarmed, evidence_holds(quiet, [], None), [], 120).score == 0


def test_a_fleet_wide_incident_is_scoped_by_seeing_every_region_move() -> None:
    storm = ideal_path(catalog.load("retry-storm"))
    assert [s.match for s in storm if s.what == "metrics"][0] == {"by": "region"}


def test_every_scenario_has_an_ideal_path() -> None:
    for name, scenario in catalog.load_all().items():
        steps = ideal_path(scenario)
        assert steps, name
        assert all(step.command.startswith("wayfinder ") for step in steps), name


def test_in_the_compose_stack_the_path_is_not_graded_and_the_debrief_says_so() -> None:
    looks = [{"what": "alerts"}]  # the rest happened in Grafana, which records nothing here
    result = grade(
        WALKTHROUGH, RIGHT, evidence_holds(WALKTHROUGH, LIMITED, FAULT_NS), looks, 95, path_graded=False
    )
    assert result.score == 100 and result.as_dict()["path_grade"] is None
    text = "\n".join(debrief(WALKTHROUGH, result))
    assert "path not graded" in text and "Your path was not graded" in text and "you skipped" not in text


def test_lost_context_evidence_is_a_publish_without_a_parent() -> None:
    lost = catalog.load("lost-trace-context")

    def publish(parent: str | None) -> SpanRecord:
        span = _provider_span(1_100, **{"queue.name": "invoice-events"})
        return replace(span, name="outbox.publish", service_name="outbox-relay", parent_span_id=parent)

    assert evidence_holds(lost, [publish(None)], FAULT_NS)[0]
    held, why = evidence_holds(lost, [publish("9" * 16)], FAULT_NS)
    assert not held and "starting its own trace" in why


def test_the_ideal_path_names_the_alerts_metric_and_has_no_alert_step_without_an_alert() -> None:
    walkthrough = [s.command for s in ideal_path(WALKTHROUGH)]
    assert walkthrough[:2] == [
        "wayfinder alerts",
        "wayfinder metrics checkout_request_duration_seconds --by region",
    ]
    for name, scenario in catalog.load_all().items():
        commands = " ".join(s.command for s in ideal_path(scenario))
        assert "<" not in commands, name  # a command a trainee can type, no placeholder
        if scenario.answer.alert is None:
            assert "wayfinder alerts" not in commands, name
    trap = [s.command for s in ideal_path(catalog.load("sampling-trap"))]
    assert trap[0].startswith("wayfinder traces --span invoice.create")
    assert trap[-1] == "wayfinder metrics invoice_create_failures_total --by failure_reason"


def test_the_queue_is_scoped_by_its_label_however_the_trainee_spells_it() -> None:
    from wayfinder.scenarios.grading import _scope_credit

    redis_down = catalog.load("redis-down")
    assert ideal_path(redis_down)[1].command == "wayfinder metrics outbox_pending --by queue_name"
    for key in ("queue", "queue.name", "queue_name"):
        assert _scope_credit(redis_down.answer.scope, ((key, "invoice-events"),))[0] == 1.0, key
    assert _scope_credit(redis_down.answer.scope, (("queue_name", "payments"),))[0] == 0.25


def test_when_the_alert_reads_the_scopes_own_metric_step_2_is_that_breakdown_once() -> None:
    pipeline = [s.command for s in ideal_path(catalog.load("telemetry-pipeline-down"))]
    assert pipeline == ["wayfinder alerts", "wayfinder metrics up --by job"]  # not `up --by region`
