"""The `invoice.create` task, and the queue metrics the article asks for (lag, in flight)."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun
from opentelemetry import metrics, trace
from wayfinder_common.db import database_errors
from wayfinder_common.errors import DependencyUnavailable
from wayfinder_common.jobs import ENQUEUED_AT_HEADER, INVOICE_QUEUE, INVOICE_TASK, InvoiceJob
from wayfinder_common.metrics import LAG_BUCKETS_S
from wayfinder_common.telemetry import business_span

from invoice_worker import service
from invoice_worker.celery_app import Resources, app, settings
from invoice_worker.clients import GatewayError

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


@app.task(name=INVOICE_TASK, bind=True, max_retries=settings.max_retries)
def create_invoice(self: Task, **payload: Any) -> str:
    """Issue the invoice for one committed order; retried with backoff while the gateway is down."""
    job = InvoiceJob.model_validate(payload)
    attempt = int(self.request.retries or 0)
    attributes = {
        "job.type": INVOICE_TASK,
        "order.id": job.order_id,
        "retry.attempt": attempt,
        **QUEUE,
    }
    assert Resources.sessions is not None and Resources.gateway is not None
    retry: tuple[Exception, str, int | None] | None = None  # (error, reason, max retries)
    with business_span(tracer, "invoice.worker.process", **attributes):
        try:
            with database_errors():
                invoice = service.create_invoice(Resources.sessions, Resources.gateway, job)
        except GatewayError as exc:
            final = not exc.retryable or attempt >= settings.max_retries
            service.record_failure(Resources.sessions, job, exc.reason, final)
            if final:
                raise
            retry = (exc, exc.reason, settings.max_retries)
        except DependencyUnavailable as exc:
            # Postgres is down: nothing can be recorded, and giving up would lose the job (an
            # acked failure is gone for good): keep retrying until it is back.
            service.record_failure(Resources.sessions, job, "database_unavailable", final=False)
            retry = (exc, "database_unavailable", None)
    if retry is not None:
        error, reason, max_retries = retry
        retry_in = random.uniform(0, min(settings.retry_cap_s, settings.retry_base_s * 2**attempt))
        log.warning(
            "invoice attempt failed; will retry",
            extra={
                "order.id": job.order_id,
                "failure.reason": reason,
                "retry.attempt": attempt,
                "retry.delay_ms": round(retry_in * 1000),
            },
        )
        # Raised outside the span: a scheduled retry is not a failure of the worker itself.
        raise self.retry(countdown=retry_in, exc=error, max_retries=max_retries)
    return invoice.invoice_id


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
