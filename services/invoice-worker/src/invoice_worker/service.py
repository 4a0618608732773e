"""Creating an invoice: at most one per order however often the job is delivered."""

from __future__ import annotations

import logging
import time
import uuid

from opentelemetry import metrics, trace
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.jobs import InvoiceJob
from wayfinder_common.metrics import LATENCY_BUCKETS_S
from wayfinder_common.telemetry import business_span

from invoice_worker.clients import InvoiceGateway
from invoice_worker.models import Invoice

log = logging.getLogger(__name__)
tracer = trace.get_tracer("invoice-worker")
meter = metrics.get_meter("invoice-worker")
create_duration = meter.create_histogram(
    "invoice.create.duration",
    unit="s",
    description="Time to create one invoice, by final status",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
)
create_failures = meter.create_counter(
    "invoice.create.failures", unit="{failure}", description="Failed invoice attempts, by reason"
)


def create_invoice(sessions: sessionmaker[Session], gateway: InvoiceGateway, job: InvoiceJob) -> Invoice:
    """Issue (or find) the order's invoice; raises GatewayError for the task to retry."""
    started = time.perf_counter()
    attributes = {"order.id": job.order_id, "account.id": job.account_id}
    with business_span(tracer, "invoice.create", **attributes) as span:
        with sessions.begin() as session:
            existing = session.get(Invoice, job.order_id)
            if existing is not None and existing.status == "issued":
                # A redelivery (at-least-once relay or a worker restart): nothing to do twice.
                existing.deliveries += 1
                span.set_attributes({"invoice.id": existing.invoice_id, "invoice.status": "issued"})
                return existing
            invoice_id = existing.invoice_id if existing else f"inv-{uuid.uuid4()}"
        span.set_attribute("invoice.id", invoice_id)
        number = gateway.issue(job)
        invoice = _save(sessions, job, invoice_id, "issued", number=number)
        span.set_attribute("invoice.status", "issued")
        create_duration.record(time.perf_counter() - started, {"invoice.status": "issued"})
        log.info("invoice issued", extra={"order.id": job.order_id, "invoice.id": invoice_id})
        return invoice


def record_failure(sessions: sessionmaker[Session], job: InvoiceJob, reason: str, final: bool) -> None:
    """Count every failed attempt; on the last one, keep a `failed` row so nothing is silently lost."""
    create_failures.add(1, {"failure.reason": reason})
    if final:
        _save(sessions, job, f"inv-{uuid.uuid4()}", "failed", reason=reason)
        create_duration.record(0.0, {"invoice.status": "failed"})
        log.error("invoice creation gave up", extra={"order.id": job.order_id, "failure.reason": reason})


def _save(
    sessions: sessionmaker[Session],
    job: InvoiceJob,
    invoice_id: str,
    status: str,
    number: str | None = None,
    reason: str | None = None,
) -> Invoice:
    values = {
        "order_id": job.order_id,
        "invoice_id": invoice_id,
        "invoice_number": number,
        "status": status,
        "failure_reason": reason,
        "account_id": job.account_id,
        "region": job.region,
        "amount_cents": job.total_cents,
    }
    update = {"invoice_number": number, "status": status, "failure_reason": reason}
    if status == "failed":
        # Never downgrade an issued invoice because a duplicate delivery failed later.
        update = {}
    statement = insert(Invoice).values(**values)
    statement = (
        statement.on_conflict_do_update(index_elements=["order_id"], set_=update)
        if update
        else statement.on_conflict_do_nothing(index_elements=["order_id"])
    )
    with sessions.begin() as session:
        session.execute(statement)
        invoice = session.get(Invoice, job.order_id, populate_existing=True)
        assert invoice is not None
        return invoice
