"""Idempotency keys on real Postgres: replay, conflicts, and fencing of a taken-over attempt."""

from __future__ import annotations

import uuid

import pytest
from checkout_api import idempotency
from wayfinder_common.errors import Conflict


def test_a_second_request_while_the_first_runs_is_told_to_wait(session) -> None:
    key = f"k-{uuid.uuid4()}"
    first = idempotency.claim(session, key, "hash", takeover_after_s=30)
    assert isinstance(first, idempotency.Claimed)
    with pytest.raises(Conflict) as raised:
        idempotency.claim(session, key, "hash", takeover_after_s=30)
    assert raised.value.code == "request_in_progress"
    with pytest.raises(Conflict) as other_body:
        idempotency.claim(session, key, "another-hash", takeover_after_s=30)
    assert other_body.value.code == "idempotency_key_reused"


def test_a_completed_key_replays_its_answer(session) -> None:
    key = f"k-{uuid.uuid4()}"
    claimed = idempotency.claim(session, key, "hash", takeover_after_s=30)
    with session.begin():
        assert idempotency.complete_if_owned(
            session, key, claimed.attempt_id, 201, {"order_id": claimed.order_id}
        )
    replay = idempotency.claim(session, key, "hash", takeover_after_s=30)
    assert replay == idempotency.Replay(201, {"order_id": claimed.order_id})


def test_a_taken_over_attempt_can_no_longer_write_and_the_order_id_is_kept(session) -> None:
    key = f"k-{uuid.uuid4()}"
    slow = idempotency.claim(session, key, "hash", takeover_after_s=30)
    newer = idempotency.claim(session, key, "hash", takeover_after_s=0)  # the slow one "died"
    assert isinstance(newer, idempotency.Claimed) and newer.order_id == slow.order_id
    assert newer.attempt_id != slow.attempt_id
    with session.begin():
        assert idempotency.owned(session, key, slow.attempt_id) is None
    idempotency.release_for_retry(session, key, slow.attempt_id)  # refused: not the owner
    with session.begin():
        assert idempotency.owned(session, key, newer.attempt_id) is not None


def test_after_a_transient_failure_the_retry_runs_under_the_same_order_id(session) -> None:
    key = f"k-{uuid.uuid4()}"
    first = idempotency.claim(session, key, "hash", takeover_after_s=30)
    idempotency.release_for_retry(session, key, first.attempt_id)
    retry = idempotency.claim(session, key, "hash", takeover_after_s=30)
    assert isinstance(retry, idempotency.Claimed) and retry.order_id == first.order_id


def test_completing_in_one_statement_is_refused_to_a_taken_over_attempt(session) -> None:
    key = f"k-{uuid.uuid4()}"
    slow = idempotency.claim(session, key, "hash", takeover_after_s=30)
    newer = idempotency.claim(session, key, "hash", takeover_after_s=0)
    assert isinstance(slow, idempotency.Claimed) and isinstance(newer, idempotency.Claimed)
    with session.begin():
        assert not idempotency.complete_if_owned(session, key, slow.attempt_id, 201, {"by": "slow"})
    with session.begin():
        assert idempotency.complete_if_owned(session, key, newer.attempt_id, 201, {"by": "newer"})
    with session.begin():  # completed: nobody owns it any more, not even the winner
        assert not idempotency.complete_if_owned(session, key, newer.attempt_id, 500, {"by": "again"})
    assert idempotency.claim(session, key, "hash", takeover_after_s=0) == idempotency.Replay(
        201, {"by": "newer"}
    )


def test_a_taken_over_attempt_loses_even_while_the_owner_has_not_committed(sessions) -> None:
    """Two attempts completing at once: the owner's UPDATE is not yet committed, the other
    attempt's is refused all the same (its attempt id was replaced when the key was taken over),
    and the key ends with the owner's answer: one answer, the owner's."""
    key = f"k-{uuid.uuid4()}"
    with sessions() as setup:
        slow = idempotency.claim(setup, key, "hash", takeover_after_s=30)
        newer = idempotency.claim(setup, key, "hash", takeover_after_s=0)
    assert isinstance(slow, idempotency.Claimed) and isinstance(newer, idempotency.Claimed)
    with sessions() as owner, sessions() as other, owner.begin():
        assert idempotency.complete_if_owned(owner, key, newer.attempt_id, 201, {"by": "newer"})
        with other.begin():
            assert not idempotency.complete_if_owned(other, key, slow.attempt_id, 201, {"by": "slow"})
    with sessions() as check:
        replay = idempotency.claim(check, key, "hash", takeover_after_s=0)
    assert replay == idempotency.Replay(201, {"by": "newer"})
