"""The invoice job contract shared by its producer (outbox-relay) and consumer (invoice-worker)."""

from __future__ import annotations

from pydantic import BaseModel, Field

INVOICE_TASK = "invoice.create"
INVOICE_QUEUE = "invoice-events"
# Stamped by the producer: when the order committed (the outbox row's creation), so queue lag
# covers the whole async delay a customer sees, including time spent waiting for a broker.
ENQUEUED_AT_HEADER = "wayfinder_enqueued_at"


class InvoiceJob(BaseModel):
    """What the worker needs to bill an order; it never reads checkout's tables."""

    order_id: str
    account_id: str
    # Optional: jobs committed before the field existed still decode.
    account_tier: str | None = Field(default=None, max_length=16)
    region: str
    total_cents: int = Field(ge=0)
    currency: str = "USD"
    item_count: int = Field(ge=1)
    # Bumped by each operator re-drive: a new drive gets a fresh attempt budget, while a late
    # duplicate of an older drive finds its outcome already recorded and does nothing.
    drive: int = Field(default=0, ge=0)


class RetryPolicy(BaseModel):
    """How often, and how far apart, the worker tries one order's invoice.

    Shared so the relay's republication bound can be checked against the worker's longest
    schedule: a republication must never race a job that is still retrying.
    """

    # 5 retries = 6 attempts, so retry.attempt takes the 6 values 0..5 its budget allows.
    max_retries: int = Field(default=5, ge=0, le=5)
    base_s: float = Field(default=1.0, gt=0)
    cap_s: float = Field(default=30.0, gt=0)
    # The hard time limit of one attempt (gateway call plus database work).
    attempt_timeout_s: float = Field(default=15.0, gt=0)

    @property
    def attempts(self) -> int:
        return self.max_retries + 1

    def delay_cap_s(self, retry: int) -> float:
        """The longest wait before retry number `retry` (0-based); the delay is jittered below it."""
        return float(min(self.cap_s, self.base_s * 2**retry))

    def longest_schedule_s(self) -> float:
        """Worst case from a job's first attempt to its last one ending."""
        waits = sum(self.delay_cap_s(retry) for retry in range(self.max_retries))
        return waits + self.attempts * self.attempt_timeout_s


def celery_config(broker_url: str) -> dict[str, object]:
    """Celery settings both ends of the invoice queue must agree on (no Celery import here)."""
    return {
        "broker_url": broker_url,
        "task_default_queue": INVOICE_QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        # At-least-once: a job is acknowledged after it ran, and redelivered if the worker died.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Reconnect forever: a Redis outage must end in recovery, not in a dead process.
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_connection_timeout": 2,
        "broker_transport_options": {"socket_timeout": 2, "socket_connect_timeout": 2},
        # Our JSON logging stays in charge of the root logger.
        "worker_hijack_root_logger": False,
        # Celery would turn stdout into a logger, and our JSON lines would be logged twice.
        "worker_redirect_stdouts": False,
    }
