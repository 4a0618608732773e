"""The invoice pipeline for real: outbox row -> outbox-relay -> Redis -> Celery worker -> gateway.

The relay, the Celery worker and the simulated gateway (payment-provider) run as their own
processes, started with local mode's process table, on the session's real Postgres and Redis.
Tests talk to them only as the shop does: rows in the outbox, tasks on the queue, the
provider's fault switch, and what lands in Postgres (or the worker's JSON log on stdout).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from wayfinder_common.db import make_engine, make_session_factory
from wayfinder_common.jobs import INVOICE_QUEUE, INVOICE_TASK, InvoiceJob, celery_config
from wayfinder_common.outbox import OutboxEvent

from tests.support import free_port, poll_until

pytestmark = pytest.mark.integration
TIMEOUT_S = 60.0  # a shared two-core machine can be slow to start Celery


@dataclass
class Pipeline:
    sessions: sessionmaker[Session]
    provider_url: str
    redis: Any
    processes: Any
    state: Any  # the fault control's state folder the processes read

    def faults(self) -> Any:
        from wayfinder.scenarios.control import FaultControl

        return FaultControl(self.state)

    def failing_gateway(self) -> None:
        """Every invoice the gateway is asked for fails (the provider's `invoice` scope)."""
        self.faults().switch_on("provider.behaviour", "invoice", {"error_rate": 1.0})

    def worker_log(self) -> list[dict[str, Any]]:
        lines = self.processes.log_file("invoice-worker").read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.sessions() as session:
            return list(session.execute(text(query), params))


def _healthy(module: str, env: dict[str, str]) -> bool:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", module, "healthcheck"], env=env, capture_output=True, timeout=30
    )
    return result.returncode == 0


@pytest.fixture(scope="module")
def pipeline(
    migrated_database: str, redis_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    import os

    from wayfinder.local.processes import ProcessSpec, ProcessTable
    from wayfinder.scenarios.paths import StatePaths

    root = tmp_path_factory.mktemp("pipeline")
    state = StatePaths(root / "home")
    processes = ProcessTable(root / "run", root / "logs")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WAYFINDER_"))},
        "DATABASE_URL": migrated_database,
        "REDIS_URL": redis_server.url,
        "PAYMENT_PROVIDER_URL": f"http://127.0.0.1:{port}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "HEARTBEAT_FILE": str(root / "relay.heartbeat"),
        # Telemetry is the e2e tests' business; here nothing listens for it.
        "TELEMETRY_ENABLED": "false",
        "OTEL_SDK_DISABLED": "true",
        "CONCURRENCY": "1",
        # Short backoffs so a retried job settles within the test's deadline.
        "RETRY_BASE_S": "0.2",
        "RETRY_CAP_S": "1",
        "MAX_BACKOFF_S": "1",
        "PYTHONUNBUFFERED": "1",
        # The gateway's faults are switched through the fault control's sealed state.
        **state.service_env(),
    }
    specs = [
        ProcessSpec("payment-provider", [sys.executable, "-m", "payment_provider", "serve"], env),
        ProcessSpec("invoice-worker", [sys.executable, "-m", "invoice_worker", "worker"], env),
        ProcessSpec("outbox-relay", [sys.executable, "-m", "outbox_relay", "run"], env),
    ]
    engine = make_engine(migrated_database)
    try:
        for spec in specs:
            processes.start(spec)
        poll_until(lambda: _ok(f"http://127.0.0.1:{port}/readyz"), "payment-provider to be ready", TIMEOUT_S)
        poll_until(lambda: _healthy("invoice_worker", env), "a Celery worker to answer a ping", TIMEOUT_S)
        poll_until(lambda: _healthy("outbox_relay", env), "the outbox relay's heartbeat", TIMEOUT_S)
        yield Pipeline(
            make_session_factory(engine), f"http://127.0.0.1:{port}", redis_server, processes, state
        )
    finally:
        for spec in reversed(specs):
            processes.stop(spec.name)
        engine.dispose()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _job(region: str = "us-east") -> InvoiceJob:
    return InvoiceJob(
        order_id=str(uuid.uuid4()), account_id="acct-0001", region=region, total_cents=1200, item_count=1
    )


def _commit_outbox_row(pipeline: Pipeline, job: InvoiceJob) -> None:
    with pipeline.sessions.begin() as session:
        session.add(OutboxEvent(event_type=INVOICE_TASK, payload=job.model_dump(), trace_context={}))


def _send_directly(pipeline: Pipeline, job: InvoiceJob) -> None:
    """Put the task on the queue as the relay would (a redelivery, as Redis/Celery make them)."""
    from celery import Celery

    producer = Celery("integration-test")
    producer.conf.update(celery_config(pipeline.redis.url))
    producer.send_task(INVOICE_TASK, kwargs=job.model_dump(), queue=INVOICE_QUEUE)


def _invoice(pipeline: Pipeline, job: InvoiceJob, status: str) -> list[Any]:
    def settled() -> list[Any] | None:
        rows = pipeline.sql(
            "SELECT status, invoice_number, failure_reason, deliveries FROM invoice.invoices "
            "WHERE order_id = :o",
            o=job.order_id,
        )
        return rows if rows and rows[0][0] == status else None

    return poll_until(settled, f"invoice of {job.order_id} to be {status}", TIMEOUT_S)


def _outbox(pipeline: Pipeline, job: InvoiceJob) -> tuple[Any, ...]:
    (row,) = pipeline.sql(
        "SELECT published_at, attempts, last_error FROM checkout.outbox WHERE payload->>'order_id' = :o",
        o=job.order_id,
    )
    return tuple(row)


def test_a_committed_outbox_row_becomes_one_issued_invoice(pipeline: Pipeline) -> None:
    job = _job()
    _commit_outbox_row(pipeline, job)
    ((status, number, reason, deliveries),) = _invoice(pipeline, job, "issued")
    assert number.startswith("INV-") and reason is None and deliveries == 1
    published_at, attempts, last_error = _outbox(pipeline, job)
    assert published_at is not None and attempts == 1 and last_error is None


def test_a_redelivered_job_creates_one_invoice(pipeline: Pipeline) -> None:
    job = _job()
    _send_directly(pipeline, job)
    ((_, first_number, _, _),) = _invoice(pipeline, job, "issued")
    _send_directly(pipeline, job)

    def delivered_twice() -> list[Any] | None:
        rows = pipeline.sql(
            "SELECT count(*), max(deliveries), max(invoice_number) FROM invoice.invoices WHERE order_id = :o",
            o=job.order_id,
        )
        return rows if rows[0][1] == 2 else None

    ((count, _, number),) = poll_until(delivered_twice, "the second delivery to be counted", TIMEOUT_S)
    assert count == 1 and number == first_number


def test_a_refusing_gateway_is_retried_until_the_invoice_is_issued(pipeline: Pipeline) -> None:
    job = _job()
    pipeline.failing_gateway()
    try:
        _send_directly(pipeline, job)

        def retried() -> list[dict[str, Any]]:
            return [
                line
                for line in pipeline.worker_log()
                if line.get("order.id") == job.order_id
                and line.get("failure.reason") == "gateway_unavailable"
            ]

        poll_until(retried, "the worker to log a failed gateway attempt", TIMEOUT_S)
        issued = "SELECT count(*) FROM invoice.invoices WHERE order_id = :o AND status = 'issued'"
        assert pipeline.sql(issued, o=job.order_id) == [(0,)]
    finally:
        pipeline.faults().reset()
    ((status, number, _, _),) = _invoice(pipeline, job, "issued")
    assert number.startswith("INV-")


def test_a_rejected_invoice_is_kept_as_failed_with_its_reason(pipeline: Pipeline) -> None:
    # The gateway answers 422 to a region it does not know: not retryable, so the job gives up
    # at once and leaves a `failed` row rather than losing the order silently.
    job = _job(region="mars-north")
    _send_directly(pipeline, job)
    ((_, number, reason, _),) = _invoice(pipeline, job, "failed")
    assert number is None and reason == "gateway_rejected"


def test_a_redelivery_that_meets_a_failing_gateway_never_downgrades_an_issued_invoice(
    pipeline: Pipeline,
) -> None:
    job = _job()
    _send_directly(pipeline, job)
    ((_, number, _, _),) = _invoice(pipeline, job, "issued")
    pipeline.failing_gateway()
    try:
        # The same job again (a republication, say) while every gateway call would fail: the
        # worker finds the invoice issued and finishes without calling the gateway.
        _send_directly(pipeline, job)

        def delivered_twice() -> list[tuple[Any, ...]] | None:
            rows = pipeline.sql(
                "SELECT status, invoice_number, deliveries FROM invoice.invoices WHERE order_id = :o",
                o=job.order_id,
            )
            return rows if rows and rows[0][2] >= 2 else None

        ((status, again, _),) = poll_until(delivered_twice, "the second delivery to be counted", TIMEOUT_S)
    finally:
        pipeline.faults().reset()
    assert status == "issued" and again == number


def test_the_relay_keeps_rows_while_redis_is_down_and_publishes_them_after(pipeline: Pipeline) -> None:
    job = _job()
    pipeline.redis.stop()
    try:
        _commit_outbox_row(pipeline, job)

        def refused() -> tuple[Any, ...] | None:
            row = _outbox(pipeline, job)
            return row if row[1] >= 1 and row[2] else None

        published_at, _, last_error = poll_until(refused, "a refused publish recorded on the row", TIMEOUT_S)
        assert published_at is None and last_error
        assert pipeline.sql("SELECT count(*) FROM invoice.invoices WHERE order_id = :o", o=job.order_id) == [
            (0,)
        ]
    finally:
        pipeline.redis.start()
    _invoice(pipeline, job, "issued")
    published_at, attempts, last_error = _outbox(pipeline, job)
    assert published_at is not None and attempts >= 2 and last_error is None
