"""The delivery policy, attempt by attempt: invoice-worker and outbox-relay code on real Postgres
(row locks, the outbox and invoice tables) and a real Celery publish to real Redis.

The one stand-in is the external invoice gateway, scripted per attempt ("fail twice, then
issue") so a test can hold the policy to exact numbers: calls per order, republications,
dead letters. The real gateway (payment-provider, switched through the fault control) and
the real worker and relay processes are exercised in test_invoices_and_relay.py and, under
kill -9, in tests/e2e/test_invoice_chaos.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from invoice_worker import service as invoices
from invoice_worker.clients import GatewayError
from outbox_relay.gauges import dead_letters_by_reason, missing_by_age
from outbox_relay.reconcile import Reconciler
from outbox_relay.redrive import redrive
from outbox_relay.relay import publish_batch
from sqlalchemy import event, text
from wayfinder_common.jobs import INVOICE_TASK, InvoiceJob, RetryPolicy

from tests.support import free_port

POLICY = RetryPolicy()


class FakeGateway:
    def __init__(self, failures: int = 0, reason: str = "gateway_unavailable") -> None:
        self.failures = failures
        self.reason = reason
        self.calls = 0

    def issue(self, job: InvoiceJob) -> str:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise GatewayError(self.reason, "HTTP 503")
        return f"INV-{job.order_id[:8]}"


def _job(**changes: Any) -> InvoiceJob:
    fields: dict[str, Any] = {
        "order_id": str(uuid.uuid4()),
        "account_id": "acct-0001",
        "region": "us-east",
        "total_cents": 1200,
        "item_count": 1,
    }
    return InvoiceJob(**{**fields, **changes})


def _deliver(sessions, gateway, job: InvoiceJob) -> str:
    """One delivery of the job; its outcome for the test: issued, failed or retry."""
    try:
        return invoices.create_invoice(sessions, gateway, job, POLICY).status
    except invoices.InvoiceFailed as exc:
        return "failed" if exc.final else "retry"


def _row(sessions, order_id: str) -> tuple[Any, ...]:
    with sessions() as session:
        return tuple(
            session.execute(
                text(
                    "SELECT count(*), max(status), max(attempts), max(deliveries), max(failure_reason) "
                    "FROM invoice.invoices WHERE order_id = :o"
                ),
                {"o": order_id},
            ).one()
        )


def test_redelivered_jobs_create_one_invoice(sessions) -> None:
    job, gateway = _job(), FakeGateway()
    assert [_deliver(sessions, gateway, job) for _ in range(3)] == ["issued"] * 3
    assert gateway.calls == 1
    assert _row(sessions, job.order_id)[:4] == (1, "issued", 1, 3)


def test_a_failed_attempt_then_success_keeps_one_issued_invoice(sessions) -> None:
    job, gateway = _job(), FakeGateway(failures=1)
    assert _deliver(sessions, gateway, job) == "retry"
    assert _row(sessions, job.order_id)[1] == "pending"
    assert _deliver(sessions, gateway, job) == "issued"
    assert gateway.calls == 2 and _row(sessions, job.order_id)[:3] == (1, "issued", 2)


def test_the_gateway_is_never_called_more_often_per_order_than_the_policy_allows(sessions) -> None:
    # Retries, redeliveries and republications are all just deliveries: 20 of them for a gateway
    # that never recovers still make at most `attempts` calls, then one recorded failure.
    job, gateway = _job(), FakeGateway(failures=1000)
    outcomes = [_deliver(sessions, gateway, job) for _ in range(20)]
    assert gateway.calls == POLICY.attempts == 6
    assert outcomes[: POLICY.attempts] == ["retry"] * (POLICY.attempts - 1) + ["failed"]
    assert set(outcomes[POLICY.attempts :]) == {"failed"}  # later deliveries find the outcome
    assert _row(sessions, job.order_id) == (1, "failed", 6, 20, "gateway_unavailable")


def test_attempts_lost_mid_flight_still_count_against_the_budget(sessions) -> None:
    # A worker killed during its gateway call never records why: the claim was counted first.
    job = _job()
    for _ in range(POLICY.attempts):
        invoices._claim(sessions, job)
    gateway = FakeGateway()
    assert _deliver(sessions, gateway, job) == "failed"
    assert gateway.calls == 0 and _row(sessions, job.order_id)[4] == "attempt_lost"


def test_a_first_delivery_is_claimed_and_settled_in_two_statements(sessions) -> None:
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0])

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert _deliver(sessions, FakeGateway(), _job()) == "issued"
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert statements == ["INSERT", "UPDATE"]  # the claim and the outcome; nothing read back


def test_an_issued_invoice_wins_over_a_racing_failure_and_is_never_downgraded(sessions) -> None:
    job = _job()
    invoices._claim(sessions, job)
    assert invoices._finish(sessions, job, "failed", lambda _: None, reason="gateway_timeout")[1] is True
    # The gateway did issue it after all (a slow answer): recorded whatever we thought.
    row, decided = invoices._finish(sessions, job, "issued", lambda _: None, number="INV-1")
    assert decided and (row.status, row.invoice_number, row.failure_reason) == ("issued", "INV-1", None)
    assert invoices._finish(sessions, job, "failed", lambda _: None, reason="gateway_timeout")[1] is False
    again, decided = invoices._finish(sessions, job, "issued", lambda _: None, number="INV-2")
    assert not decided and again.invoice_number == "INV-1"
    assert _row(sessions, job.order_id)[:2] == (1, "issued")


@pytest.mark.parametrize(
    ("first", "second", "outcome"),
    [
        # A failure is being recorded when the gateway's late "issued" arrives: it waits, then wins.
        ("failed", "issued", ("issued", True)),
        # An issue is being recorded when a racing delivery gives up: it waits, then decides nothing.
        ("issued", "failed", ("issued", False)),
    ],
)
def test_two_deliveries_recording_at_once_wait_for_each_other_then_keep_the_rules(
    sessions, first: str, second: str, outcome: tuple[str, bool]
) -> None:
    job = _job()
    invoices._claim(sessions, job)
    inside, release = threading.Event(), threading.Event()

    def hold(point: str) -> None:
        if point == "invoice.in_transaction":
            inside.set()
            assert release.wait(30)

    holder = threading.Thread(
        target=invoices._finish, args=(sessions, job, first, hold, "INV-1", "gateway_timeout")
    )
    holder.start()
    assert inside.wait(30)  # the first has updated the row and holds its lock, uncommitted
    results: list[tuple[Any, bool]] = []
    racer = threading.Thread(
        target=lambda: results.append(
            invoices._finish(sessions, job, second, lambda _: None, **_outcome(second))
        )
    )
    racer.start()
    deadline = time.monotonic() + 30
    while not _waiting_on_a_lock(sessions) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _waiting_on_a_lock(sessions) and not results  # the second waits for the first's commit
    release.set()
    holder.join(30)
    racer.join(30)
    row, decided = results[0]
    assert (row.status, decided) == outcome
    assert _row(sessions, job.order_id)[1] == outcome[0]


def _outcome(status: str) -> dict[str, str]:
    return {"number": "INV-1"} if status == "issued" else {"reason": "gateway_timeout"}


def _waiting_on_a_lock(sessions) -> bool:
    with sessions() as session:
        return bool(
            session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE invoice.invoices%'"
                )
            ).scalar()
        )


def test_a_rejection_is_final_at_once(sessions) -> None:
    job, gateway = _job(), FakeGateway(failures=1000, reason="gateway_rejected")
    assert _deliver(sessions, gateway, job) == "failed" and gateway.calls == 1
    # A racing delivery that also gave up does not decide (nor count) the failure a second time.
    assert invoices._finish(sessions, job, "failed", lambda _: None, reason="gateway_timeout")[1] is False
    assert _row(sessions, job.order_id)[4] == "gateway_rejected"


def _outbox_row(sessions, order_id: str, payload: dict[str, Any] | None = None) -> None:
    from wayfinder_common.outbox import OutboxEvent

    with sessions.begin() as session:
        session.add(
            OutboxEvent(event_type=INVOICE_TASK, payload=payload or {"order_id": order_id}, trace_context={})
        )


def _event(sessions, order_id: str) -> tuple[Any, ...]:
    with sessions() as session:
        return tuple(
            session.execute(
                text(
                    "SELECT published_at IS NOT NULL, completed_at IS NOT NULL, republications, "
                    "dead_lettered_at IS NOT NULL, coalesce((payload->>'drive')::int, 0) "
                    "FROM checkout.outbox WHERE payload->>'order_id' = :o"
                ),
                {"o": order_id},
            ).one()
        )


def _pending(sessions, order_id: str) -> int:
    with sessions() as session:
        return session.execute(
            text(
                "SELECT count(*) FROM checkout.outbox WHERE published_at IS NULL "
                "AND payload->>'order_id' = :o"
            ),
            {"o": order_id},
        ).scalar()


def reconcile(
    sessions, send: Any, republish_after_s: float, max_republications: int, queue_is_empty: bool = True
) -> tuple[int, int, bool]:
    """One pass of a fresh reconciler (`queue_is_empty` stands in for asking the broker)."""
    reconciler = Reconciler(
        sessions, send, republish_after_s, max_republications, 500, queue_is_empty=lambda: queue_is_empty
    )
    return reconciler.run_once()


def _publish_all(sessions, sent: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
    while publish_batch(sessions, lambda *a: sent.append(a), batch_size=500)[0]:
        pass


def test_relay_keeps_rows_when_the_broker_refuses_and_publishes_them_later(sessions) -> None:
    order_id = str(uuid.uuid4())
    _outbox_row(sessions, order_id)

    def refuse(*_: Any) -> None:
        raise ConnectionError("redis is down")

    published, failed = publish_batch(sessions, refuse, batch_size=500)
    assert failed and _pending(sessions, order_id) == 1
    sent: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    _publish_all(sessions, sent)
    assert _pending(sessions, order_id) == 0
    mine = [s for s in sent if s[1]["order_id"] == order_id]
    assert len(mine) == 1 and mine[0][0] == INVOICE_TASK
    assert "wayfinder_enqueued_at" in mine[0][2]


def test_an_event_is_finished_by_its_invoice_not_by_the_broker(sessions) -> None:
    job = _job()
    _outbox_row(sessions, job.order_id, job.model_dump())
    sent: list[Any] = []
    _publish_all(sessions, sent)
    reconcile(sessions, lambda *a: sent.append(a), 3600, 2)
    assert _event(sessions, job.order_id)[:2] == (True, False)  # published, not finished
    assert _deliver(sessions, FakeGateway(), job) == "issued"
    reconcile(sessions, lambda *a: sent.append(a), 3600, 2)
    assert _event(sessions, job.order_id)[:2] == (True, True)


def test_a_lost_message_is_republished_a_bounded_number_of_times_then_dead_lettered(sessions) -> None:
    job = _job()
    _outbox_row(sessions, job.order_id, job.model_dump())
    sent: list[Any] = []
    _publish_all(sessions, sent)
    with sessions() as session:
        assert missing_by_age(session)["under_1m"] >= 1
    for _ in range(4):  # the broker "loses" every message: nobody ever invoices this order
        reconcile(sessions, lambda *a: sent.append(a), 0, 2)
    mine = [s for s in sent if s[1]["order_id"] == job.order_id]
    assert len(mine) == 3  # the first publication and two republications
    assert _event(sessions, job.order_id) == (True, False, 2, True, 0)
    with sessions() as session:
        assert dead_letters_by_reason(session)["not_invoiced"] >= 1
    # One operator command re-drives it; the next delivery invoices it and finishes the event.
    assert (job.order_id, "not_invoiced") in redrive(sessions)
    assert _event(sessions, job.order_id) == (False, False, 0, False, 1)
    _publish_all(sessions, sent)
    redriven = InvoiceJob.model_validate([s for s in sent if s[1]["order_id"] == job.order_id][-1][1])
    assert redriven.drive == 1 and _deliver(sessions, FakeGateway(), redriven) == "issued"
    reconcile(sessions, lambda *a: sent.append(a), 0, 2)
    assert _event(sessions, job.order_id)[:2] == (True, True)


def test_a_message_waiting_behind_a_backlog_is_not_republished(sessions) -> None:
    first, second = _job(), _job()
    for job in (first, second):
        _outbox_row(sessions, job.order_id, job.model_dump())
    _publish_all(sessions, [])
    sent: list[Any] = []
    reconciler = Reconciler(sessions, lambda *a: sent.append(a), 0, 2, 500, queue_is_empty=lambda: False)
    reconciler.run_once()
    assert _event(sessions, first.order_id)[2] == 0  # the queue is busy and nothing got consumed
    assert _deliver(sessions, FakeGateway(), second) == "issued"  # a later message was consumed...
    reconciler.run_once()
    assert _event(sessions, first.order_id)[2] == 1  # ...so the earlier one was lost: republished
    assert _event(sessions, second.order_id)[:3] == (True, True, 0)


def test_republication_never_races_a_job_that_is_still_attempting(sessions) -> None:
    job = _job()
    _outbox_row(sessions, job.order_id, job.model_dump())
    _publish_all(sessions, [])
    assert _deliver(sessions, FakeGateway(failures=1), job) == "retry"  # pending, touched just now
    with sessions.begin() as session:  # the last publication is long overdue...
        session.execute(
            text(
                "UPDATE checkout.outbox SET published_at = now() - interval '1 hour' "
                "WHERE payload->>'order_id' = :o"
            ),
            {"o": job.order_id},
        )
    sent: list[Any] = []
    reconcile(sessions, lambda *a: sent.append(a), 60, 2)
    assert _event(sessions, job.order_id)[2] == 0  # ...but the job attempted within the bound: alive
    with sessions.begin() as session:  # its worker died: no attempt for longer than the bound
        session.execute(
            text("UPDATE invoice.invoices SET updated_at = now() - interval '1 hour' WHERE order_id = :o"),
            {"o": job.order_id},
        )
    reconcile(sessions, lambda *a: sent.append(a), 60, 2)
    assert _event(sessions, job.order_id)[2] == 1
    assert [s[1]["order_id"] for s in sent].count(job.order_id) == 1


def test_a_failed_invoice_is_a_dead_letter_that_one_redrive_retries_with_a_fresh_budget(sessions) -> None:
    job, gateway = _job(), FakeGateway(failures=POLICY.attempts)
    _outbox_row(sessions, job.order_id, job.model_dump())
    _publish_all(sessions, [])
    while _deliver(sessions, gateway, job) == "retry":
        pass
    reconcile(sessions, lambda *a: None, 3600, 2)
    assert _event(sessions, job.order_id)[1] is True  # a recorded failure finishes the event
    with sessions() as session:
        assert dead_letters_by_reason(session)["gateway_unavailable"] >= 1
    assert (job.order_id, "gateway_unavailable") in redrive(sessions)
    # A late duplicate of the old drive changes nothing; the new drive issues the invoice.
    assert _deliver(sessions, gateway, job) == "failed" and gateway.calls == POLICY.attempts
    assert _deliver(sessions, gateway, job.model_copy(update={"drive": 1})) == "issued"
    assert _row(sessions, job.order_id)[:3] == (1, "issued", 1)


def test_a_retry_the_broker_cannot_take_leaves_the_order_to_republication(
    sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Celery turns a retry it cannot publish into Reject(requeue=False): the message would be
    # dropped. Here Redis is unreachable for real (a closed port) at the moment of the retry.
    from invoice_worker.celery_app import Resources, app
    from invoice_worker.tasks import create_invoice

    monkeypatch.setattr(Resources, "sessions", sessions)
    monkeypatch.setattr(Resources, "gateway", FakeGateway(failures=1))
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    job = _job()
    create_invoice.push_request(
        id=str(uuid.uuid4()), retries=0, called_directly=False, kwargs=job.model_dump()
    )
    try:
        assert create_invoice.run(**job.model_dump()) is None  # handled: no exception, no drop
    finally:
        create_invoice.pop_request()
    # No outcome is recorded, so the order stays owed and the relay republishes it.
    assert _row(sessions, job.order_id)[1:3] == ("pending", 1)


def test_an_invoice_issued_late_finishes_its_event_whatever_the_drive(sessions) -> None:
    job = _job()
    _outbox_row(sessions, job.order_id, job.model_dump())
    _publish_all(sessions, [])
    for _ in range(3):
        reconcile(sessions, lambda *a: None, 0, 2)  # republished twice, then dead-lettered
    assert _event(sessions, job.order_id)[3] is True
    assert _deliver(sessions, FakeGateway(), job) == "issued"  # a late delivery still invoices it
    assert (job.order_id, "not_invoiced") in redrive(sessions)  # the operator re-drives meanwhile
    _publish_all(sessions, [])
    assert _deliver(sessions, FakeGateway(), job.model_copy(update={"drive": 1})) == "issued"
    reconcile(sessions, lambda *a: None, 3600, 2)
    assert _event(sessions, job.order_id)[:2] == (True, True)
    assert _row(sessions, job.order_id)[:3] == (1, "issued", 1)
