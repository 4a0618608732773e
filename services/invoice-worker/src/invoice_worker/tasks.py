"""The `invoice.create` task, and the queue metrics the article asks for (lag, in flight).

Retries are bounded twice: a message retries at most `max_retries` times (whatever failed: the
gateway or Postgres), and the order's row allows at most `max_retries + 1` gateway calls per
drive across every delivery. A job that ends without an outcome (its retries spent on a
database outage, or a retry the broker would not take) is not lost: its outbox event is not
finished, so the relay republishes it after its bound.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from typing import Any

from celery import Task
from celery.exceptions import Reject
from celery.signals import task_postrun, task_prerun
from opentelemetry import metrics, trace
from wayfinder_common.db import database_errors
from wayfinder_common.errors import DependencyUnavailable
from wayfinder_common.holds import hold
from wayfinder_common.jobs import ENQUEUED_AT_HEADER, INVOICE_QUEUE, INVOICE_TASK, InvoiceJob
from wayfinder_common.metrics import LAG_BUCKETS_S
from wayfinder_common.telemetry import business_span

from invoice_worker import service
from invoice_worker.celery_app import Resources, app, settings

log = logging.getLogger(__name__)
tracer = trace.get_tracer("invoice-worker")
meter = metrics.get_meter("invoice-worker")
job_lag = meter.create_histogram(
    "invoice.job.lag",
    unit="s",
    description="Delay from the order's commit to the worker starting its invoice job",
    explicit_bucket_boundaries_advisory=LAG_BUCKETS_S,
)
in_flight = meter.create_up_down_counter(
    "invoice.jobs.in_flight", unit="{job}", description="Invoice jobs being processed right now"
)
QUEUE = {"queue.name": INVOICE_QUEUE}
policy = settings.retry_policy
checkpoint = functools.partial(hold, settings)


@app.task(
    name=INVOICE_TASK,
    bind=True,
    max_retries=policy.max_retries,
    # A hung attempt must not outlive the schedule the relay's republication bound assumes.
    time_limit=policy.attempt_timeout_s,
)
def create_invoice(self: Task, **payload: Any) -> str | None:
    """Issue the invoice for one committed order; retried with backoff while the gateway is down."""
    job = InvoiceJob.model_validate(payload)
    retries = int(self.request.retries or 0)
    attributes = {
        "job.type": INVOICE_TASK,
        "order.id": job.order_id,
        "account.id": job.account_id,
        "region": job.region,
        "retry.attempt": retries,
        **QUEUE,
    }
    assert Resources.sessions is not None and Resources.gateway is not None
    failure: tuple[Exception, str] | None = None
    with business_span(tracer, "invoice.worker.process", **attributes):
        try:
            with database_errors():
                invoice = service.create_invoice(
                    Resources.sessions, Resources.gateway, job, policy, checkpoint
                )
            return invoice.invoice_id
        except service.InvoiceFailed as exc:
            if exc.final:
                return None  # recorded as failed (the dead letter); nothing left to retry
            failure = (exc, exc.reason)
        except DependencyUnavailable as exc:
            failure = (exc, "database_unavailable")
    error, reason = failure
    _retry(self, job, error, reason, retries)
    return None


def _retry(task: Task, job: InvoiceJob, error: Exception, reason: str, retries: int) -> None:
    """Schedule the next attempt; when that is impossible, leave the order to republication."""
    fields: dict[str, Any] = {"order.id": job.order_id, "failure.reason": reason, "retry.attempt": retries}
    if retries >= policy.max_retries:
        # Only a database outage gets here with gateway budget left: no outcome can be
        # recorded, so the outbox event stays unfinished and the relay republishes it.
        log.error("invoice job out of retries without an outcome; the relay republishes it", extra=fields)
        return
    delay = random.uniform(0, policy.delay_cap_s(retries))
    log.warning("invoice attempt failed; will retry", extra={**fields, "retry.delay_ms": round(delay * 1000)})
    try:
        # Raised outside the span: a scheduled retry is not a failure of the worker itself.
        raise task.retry(countdown=delay, exc=error)
    except Reject as exc:
        # Celery could not publish the retry (Redis died at this moment) and would drop the
        # message. The order has no outcome yet, so the relay republishes it after its bound.
        log.error(
            "invoice retry could not be scheduled; the relay republishes it",
            extra={**fields, "error.type": type(exc.reason).__name__},
        )


@task_prerun.connect
def _job_started(task: Task | None = None, **_: Any) -> None:
    if task is None or task.name != INVOICE_TASK:
        return
    in_flight.add(1, QUEUE)
    enqueued_at = _header(task, ENQUEUED_AT_HEADER)
    # Only first deliveries: a retry's wait is its own backoff, not queue lag.
    if enqueued_at is not None and not task.request.retries:
        job_lag.record(max(0.0, time.time() - float(enqueued_at)), QUEUE)


@task_postrun.connect
def _job_finished(task: Task | None = None, **_: Any) -> None:
    if task is not None and task.name == INVOICE_TASK:
        in_flight.add(-1, QUEUE)


def _header(task: Task, name: str) -> Any:
    value = getattr(task.request, name, None)
    if value is None and isinstance(task.request.headers, dict):
        value = task.request.headers.get(name)
    return value
