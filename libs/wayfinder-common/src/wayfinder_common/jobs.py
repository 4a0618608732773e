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
