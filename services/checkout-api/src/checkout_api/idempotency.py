"""Idempotency keys: the same key and body replays the first answer; another body is a 409.

Each request that gets to run holds the key through an `attempt_id` (a fencing token): if it is
slow enough for a retry to take the key over, its late writes (completing the key, releasing
stock) are refused instead of clobbering the newer attempt's outcome.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from wayfinder_common.errors import Conflict

from checkout_api.models import IdempotencyKey

ABANDONED = {
    "error": "checkout_abandoned",
    "message": "this checkout was abandoned and its stock and payment hold released; "
    "place the order again with a new Idempotency-Key",
}


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    order_id: str
    attempt_id: str


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def claim(session: Session, key: str, body_hash: str, takeover_after_s: float) -> Replay | Claimed:
    """Own the key for this request, or say what to answer instead."""
    attempt_id = str(uuid.uuid4())
    with session.begin():
        inserted = session.execute(
            insert(IdempotencyKey)
            .values(
                key=key,
                request_hash=body_hash,
                order_id=str(uuid.uuid4()),
                state="in_progress",
                attempt_id=attempt_id,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(IdempotencyKey.order_id)
        ).scalar_one_or_none()
        if inserted is not None:
            # A new key (almost every request): the row is ours, locked until this commits; no
            # second round trip to read back what was just written.
            return Claimed(inserted, attempt_id)
        row = session.get(IdempotencyKey, key, with_for_update=True, populate_existing=True)
        assert row is not None
        if row.request_hash != body_hash:
            raise Conflict(
                "this Idempotency-Key was used with a different request body", code="idempotency_key_reused"
            )
        if row.state == "completed" and row.response_status is not None:
            return Replay(row.response_status, row.response_body or {})
        if row.state in ("abandoning", "abandoned"):
            return Replay(409, ABANDONED)
        # Ages on the database's clock, the one that stamped updated_at.
        now: datetime = session.execute(select(func.now())).scalar_one()
        age = now - row.updated_at
        if row.state == "in_progress" and age < timedelta(seconds=takeover_after_s):
            raise Conflict(
                "a request with this Idempotency-Key is still in progress", code="request_in_progress"
            )
        # A retry after a transient failure, or the first request died mid-way: carry on with the
        # same order id (inventory and payment dedupe by it), under a new attempt.
        row.state = "in_progress"
        row.attempt_id = attempt_id
        row.updated_at = now
        return Claimed(row.order_id, attempt_id)


def owned(session: Session, key: str, attempt_id: str) -> IdempotencyKey | None:
    """The key row, locked, if this attempt still holds it (call inside a transaction)."""
    row = session.get(IdempotencyKey, key, with_for_update=True, populate_existing=True)
    if row is None or row.attempt_id != attempt_id or row.state != "in_progress":
        return None
    return row


def complete_if_owned(session: Session, key: str, attempt_id: str, status: int, body: dict[str, Any]) -> bool:
    """Record the final answer if this attempt still holds the key, in the transaction that
    commits the outcome, in one statement (`owned`, then setting it): False if taken over.

    The UPDATE locks the row as `owned`'s SELECT ... FOR UPDATE did: a second attempt that got
    this far waits for the first to commit, then finds the attempt id changed and updates nothing.
    """
    completed = session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.key == key,
            IdempotencyKey.attempt_id == attempt_id,
            IdempotencyKey.state == "in_progress",
        )
        .values(state="completed", response_status=status, response_body=body)
        .returning(IdempotencyKey.key)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return completed is not None


def release_for_retry(session: Session, key: str, attempt_id: str) -> None:
    """A transient failure: a retry with this key runs again, under the SAME order id, so a
    payment that did go through is replayed by payment rather than charged twice."""
    with session.begin():
        row = owned(session, key, attempt_id)
        if row is not None:
            row.state = "retryable"
