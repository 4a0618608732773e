"""Idempotency keys: the same key and body replays the first answer; another body is a 409."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from wayfinder_common.errors import Conflict

from checkout_api.models import IdempotencyKey


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    order_id: str


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def claim(session: Session, key: str, body_hash: str, takeover_after_s: float) -> Replay | Claimed:
    """Own the key for this request, or say what to answer instead."""
    with session.begin():
        fresh_order_id = str(uuid.uuid4())
        session.execute(
            insert(IdempotencyKey)
            .values(key=key, request_hash=body_hash, order_id=fresh_order_id, state="in_progress")
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = session.get(IdempotencyKey, key, with_for_update=True, populate_existing=True)
        assert row is not None
        if row.request_hash != body_hash:
            raise Conflict(
                "this Idempotency-Key was used with a different request body",
                code="idempotency_key_reused",
            )
        if row.state == "completed" and row.response_status is not None:
            return Replay(row.response_status, row.response_body or {})
        if row.order_id == fresh_order_id:
            return Claimed(row.order_id)
        if row.state == "retryable":
            row.state = "in_progress"
            return Claimed(row.order_id)
        age = datetime.now(UTC) - row.updated_at
        if age < timedelta(seconds=takeover_after_s):
            raise Conflict(
                "a request with this Idempotency-Key is still in progress", code="request_in_progress"
            )
        # The first request died mid-way: carry on with its order id (downstreams dedupe by it).
        row.updated_at = datetime.now(UTC)
        return Claimed(row.order_id)


def complete(session: Session, key: str, status: int, body: dict[str, Any]) -> None:
    """Record the final answer (call inside the transaction that commits the outcome)."""
    row = session.get(IdempotencyKey, key, with_for_update=True)
    assert row is not None, "claimed keys are only removed by forget()"
    row.state = "completed"
    row.response_status = status
    row.response_body = body


def release_for_retry(session: Session, key: str) -> None:
    """A transient failure: a retry with this key runs again, under the SAME order id, so a
    payment that did go through is replayed by payment rather than charged twice."""
    with session.begin():
        row = session.get(IdempotencyKey, key, with_for_update=True)
        if row is not None and row.state == "in_progress":
            row.state = "retryable"
