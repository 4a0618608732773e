"""Creating an invoice: one per order however often its job is delivered, and at most
`policy.attempts` gateway calls per order and drive, however often it is redelivered or
republished (the attempt count lives in the order's row, not in the message)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry import metrics, trace
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.errors import WayfinderError
from wayfinder_common.jobs import InvoiceJob, RetryPolicy
from wayfinder_common.metrics import LATENCY_BUCKETS_S
from wayfinder_common.telemetry import business_span

from invoice_worker.clients import GatewayError, InvoiceGateway
from invoice_worker.models import Invoice

log = logging.getLogger(__name__)
tracer = trace.get_tracer("invoice-worker")
meter = metrics.get_meter("invoice-worker")
create_duration = meter.create_histogram(
    "invoice.create.duration",
    unit="s",
    description="From an order's first invoice attempt to its outcome (issued or failed), retries included",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
)
create_failures = meter.create_counter(
    "invoice.create.failures",
    unit="{invoice}",
    description="Invoices that ended failed after their retries, by the last reason",
)
gateway_retries = meter.create_counter(
    "invoice.gateway.retries",
    unit="{retry}",
    description="Gateway calls that retry an earlier failed or lost attempt, by that attempt's reason",
)
TERMINAL = ("issued", "failed")
# Why the previous attempt left no reason: its worker died (or lost Postgres) mid-attempt.
ATTEMPT_LOST = "attempt_lost"

# checkpoint(point): a hold point for chaos tests (wayfinder_common.holds); a no-op by default.
Checkpoint = Callable[[str], None]


def _no_checkpoint(_: str) -> None:
    return None


class InvoiceFailed(WayfinderError):
    """One attempt failed; `final` when the invoice is now recorded as failed (no retry left)."""

    def __init__(self, reason: str, attempt: int, final: bool, detail: str) -> None:
        super().__init__(detail, code=reason)
        self.reason = reason
        self.attempt = attempt
        self.final = final


@dataclass(frozen=True)
class Claim:
    """The right to make gateway call number `attempt` (0-based) for the order's current drive."""

    invoice_id: str
    attempt: int
    last_reason: str | None
    started: datetime


def create_invoice(
    sessions: sessionmaker[Session],
    gateway: InvoiceGateway,
    job: InvoiceJob,
    policy: RetryPolicy,
    checkpoint: Checkpoint = _no_checkpoint,
) -> Invoice:
    """The order's invoice (issued now or earlier), or raise InvoiceFailed (final or retryable)."""
    attributes = {"order.id": job.order_id, "account.id": job.account_id, "region": job.region, **_tier(job)}
    with business_span(tracer, "invoice.create", **attributes) as span:
        claim = _claim(sessions, job)
        if isinstance(claim, Invoice):
            # A duplicate delivery (at-least-once relay, republication, restart): nothing twice.
            span.set_attributes(_outcome_attributes(claim))
            return claim
        span.set_attribute("invoice.id", claim.invoice_id)
        if claim.attempt >= policy.attempts:
            # Earlier deliveries spent the budget and died before recording the outcome.
            reason = claim.last_reason or ATTEMPT_LOST
            _fail(sessions, job, claim, reason, checkpoint)
            span.set_attributes({"invoice.status": "failed", "failure.reason": reason})
            raise InvoiceFailed(reason, claim.attempt, True, "no attempt left")
        if claim.attempt > 0:
            gateway_retries.add(1, {"failure.reason": claim.last_reason or ATTEMPT_LOST, **_tier(job)})
        try:
            number = gateway.issue(job)
        except GatewayError as exc:
            final = not exc.retryable or claim.attempt + 1 >= policy.attempts
            if final:
                _fail(sessions, job, claim, exc.reason, checkpoint)
                span.set_attributes({"invoice.status": "failed", "failure.reason": exc.reason})
            else:
                _note_failed_attempt(sessions, job, exc.reason)
                span.set_attribute("invoice.status", "pending")
            raise InvoiceFailed(exc.reason, claim.attempt, final, str(exc)) from exc
        checkpoint("invoice.before_save")
        invoice, decided = _finish(sessions, job, "issued", checkpoint, number=number)
        span.set_attributes(_outcome_attributes(invoice))
        if decided:  # one duration per invoice, even when two deliveries raced to issue it
            create_duration.record(_since(claim.started), {"invoice.status": "issued", **_tier(job)})
        log.info("invoice issued", extra={"order.id": job.order_id, "invoice.id": invoice.invoice_id})
        return invoice


def _claim(sessions: sessionmaker[Session], job: InvoiceJob) -> Invoice | Claim:
    """Count the attempt before making it, under the row lock: concurrent deliveries share one budget."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        # A first delivery (nearly every one) counts itself and its attempt in the INSERT: the
        # new row is this transaction's, locked until commit, so there is nothing to read back
        # and update (two round trips, and their spans, fewer per invoice).
        invoice_id = session.execute(
            insert(Invoice)
            .values(
                order_id=job.order_id,
                invoice_id=f"inv-{uuid.uuid4()}",
                status="pending",
                account_id=job.account_id,
                region=job.region,
                amount_cents=job.total_cents,
                deliveries=1,
                attempts=1,
                drive=job.drive,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["order_id"])
            .returning(Invoice.invoice_id)
        ).scalar_one_or_none()
        if invoice_id is not None:
            return Claim(invoice_id, 0, None, now)
        row = session.get(Invoice, job.order_id, with_for_update=True, populate_existing=True)
        assert row is not None
        row.deliveries += 1
        if job.drive > row.drive and row.status != "issued":
            # An operator re-drive: a fresh attempt budget, timed from now.
            row.status, row.attempts, row.drive = "pending", 0, job.drive
            row.failure_reason, row.created_at = None, now
        if row.status in TERMINAL:
            return row
        row.attempts += 1
        return Claim(row.invoice_id, row.attempts - 1, row.failure_reason, row.created_at)


def _note_failed_attempt(sessions: sessionmaker[Session], job: InvoiceJob, reason: str) -> None:
    with sessions.begin() as session:
        row = session.get(Invoice, job.order_id, with_for_update=True)
        if row is not None and row.status == "pending":
            row.failure_reason = reason


def _fail(
    sessions: sessionmaker[Session], job: InvoiceJob, claim: Claim, reason: str, checkpoint: Checkpoint
) -> None:
    """Record the terminal failure (the dead letter), counted once per invoice, not per attempt."""
    if not _finish(sessions, job, "failed", checkpoint, reason=reason)[1]:
        return  # a concurrent delivery recorded the outcome first: count it once
    create_failures.add(1, {"failure.reason": reason, **_tier(job)})
    create_duration.record(_since(claim.started), {"invoice.status": "failed", **_tier(job)})
    log.error(
        "invoice creation gave up; re-drive it with `wayfinder invoices redrive`",
        extra={"order.id": job.order_id, "failure.reason": reason, "invoice.status": "failed"},
    )


def _finish(
    sessions: sessionmaker[Session],
    job: InvoiceJob,
    status: str,
    checkpoint: Checkpoint,
    number: str | None = None,
    reason: str | None = None,
) -> tuple[Invoice, bool]:
    """Record the outcome; returns the row and whether this call decided it."""
    # An issued invoice is never downgraded, and a failure never overwrites another outcome;
    # an invoice the gateway did issue is always recorded (it exists, whatever we thought).
    undecided = Invoice.status != "issued" if status == "issued" else Invoice.status == "pending"
    with sessions.begin() as session:
        # One UPDATE decides and locks the row; Postgres re-checks the condition on the newest
        # version of the row if a concurrent delivery got there first. Only a row this call did
        # not decide is read back (under the same lock the old read-then-write took).
        row = session.scalars(
            update(Invoice)
            .where(Invoice.order_id == job.order_id, undecided)
            .values(status=status, invoice_number=number, failure_reason=reason)
            .returning(Invoice)
        ).one_or_none()
        decided = row is not None
        if row is None:
            row = session.get(Invoice, job.order_id, with_for_update=True, populate_existing=True)
            assert row is not None
        checkpoint("invoice.in_transaction")
    return row, decided


def _tier(job: InvoiceJob) -> dict[str, str]:
    """The account's plan, the dimension a tier-wide invoice failure shows on (jobs queued by an
    older relay carry none)."""
    return {"account.tier": job.account_tier} if job.account_tier else {}


def _outcome_attributes(invoice: Invoice) -> dict[str, str]:
    attributes = {"invoice.id": invoice.invoice_id, "invoice.status": invoice.status}
    if invoice.status == "failed" and invoice.failure_reason:
        attributes["failure.reason"] = invoice.failure_reason
    return attributes


def _since(started: datetime) -> float:
    return max(0.0, (datetime.now(UTC) - started).total_seconds())
