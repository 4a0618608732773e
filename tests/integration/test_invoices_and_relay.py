"""invoice-worker and outbox-relay logic on real Postgres, with small fakes at the edges."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from invoice_worker import service as invoices
from invoice_worker.clients import GatewayError
from outbox_relay.relay import publish_batch
from sqlalchemy import text
from wayfinder_common.db import make_engine, make_session_factory
from wayfinder_common.jobs import INVOICE_TASK, InvoiceJob
from wayfinder_common.outbox import OutboxEvent


class FakeGateway:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls = 0

    def issue(self, job: InvoiceJob) -> str:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise GatewayError("gateway_unavailable", "HTTP 503")
        return f"INV-{job.order_id[:8]}"


@pytest.fixture()
def sessions(migrated_database: str):
    engine = make_engine(migrated_database)
    yield make_session_factory(engine)
    engine.dispose()


def _job() -> InvoiceJob:
    return InvoiceJob(
        order_id=str(uuid.uuid4()), account_id="acct-0001", region="us-east", total_cents=1200, item_count=1
    )


def test_redelivered_jobs_create_one_invoice(sessions) -> None:
    job, gateway = _job(), FakeGateway()
    first = invoices.create_invoice(sessions, gateway, job)
    second = invoices.create_invoice(sessions, gateway, job)
    assert first.invoice_id == second.invoice_id and gateway.calls == 1
    with sessions() as session:
        rows = session.execute(
            text("SELECT count(*), max(deliveries) FROM invoice.invoices WHERE order_id = :o"),
            {"o": job.order_id},
        ).one()
    assert tuple(rows) == (1, 2)


def test_a_failed_attempt_then_success_keeps_one_issued_invoice(sessions) -> None:
    job, gateway = _job(), FakeGateway(failures=1)
    with pytest.raises(GatewayError):
        invoices.create_invoice(sessions, gateway, job)
    invoices.record_failure(sessions, job, "gateway_unavailable", final=False)
    invoice = invoices.create_invoice(sessions, gateway, job)
    assert invoice.status == "issued"


def test_a_late_final_failure_never_downgrades_an_issued_invoice(sessions) -> None:
    job = _job()
    invoices.create_invoice(sessions, FakeGateway(), job)
    invoices.record_failure(sessions, job, "gateway_unavailable", final=True)
    with sessions() as session:
        status = session.execute(
            text("SELECT status FROM invoice.invoices WHERE order_id=:o"), {"o": job.order_id}
        ).scalar()
    assert status == "issued"


def _outbox_row(sessions, order_id: str) -> None:
    with sessions.begin() as session:
        session.add(OutboxEvent(event_type=INVOICE_TASK, payload={"order_id": order_id}, trace_context={}))


def _pending(sessions, order_id: str) -> int:
    with sessions() as session:
        return session.execute(
            text(
                "SELECT count(*) FROM checkout.outbox WHERE published_at IS NULL "
                "AND payload->>'order_id' = :o"
            ),
            {"o": order_id},
        ).scalar()


def test_relay_keeps_rows_when_the_broker_refuses_and_publishes_them_later(sessions) -> None:
    order_id = str(uuid.uuid4())
    _outbox_row(sessions, order_id)

    def refuse(*_: Any) -> None:
        raise ConnectionError("redis is down")

    published, failed = publish_batch(sessions, refuse, batch_size=500)
    assert failed and _pending(sessions, order_id) == 1
    sent: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    while True:
        published, failed = publish_batch(sessions, lambda *a: sent.append(a), batch_size=500)
        if published == 0:
            break
    assert not failed and _pending(sessions, order_id) == 0
    mine = [s for s in sent if s[1]["order_id"] == order_id]
    assert len(mine) == 1 and mine[0][0] == INVOICE_TASK
    assert "wayfinder_enqueued_at" in mine[0][2]
