"""payment's authorization row on real Postgres: one charge per order, and a void always wins."""

from __future__ import annotations

import uuid

import pytest
from payment import service
from payment.models import Authorization
from payment.schemas import AuthorizeRequest
from wayfinder_common.errors import Conflict


def _request() -> AuthorizeRequest:
    return AuthorizeRequest(
        order_id=str(uuid.uuid4()),
        account_id="acct-0001",
        region="eu-west",
        amount_cents=1200,
        card_token="tok_b",
    )


def _status(session, order_id: str) -> str:
    with session.begin():
        row = session.get(Authorization, order_id, populate_existing=True)
        assert row is not None
        return row.status


def test_a_new_order_is_claimed_then_settled_and_replayed(session) -> None:
    request = _request()
    assert service._claim(session, request) is None
    assert _status(session, request.order_id) == "pending"
    assert service._claim(session, request) is None  # still pending: a retry may ask the provider again
    row = service._finish(session, request.order_id, "authorized", "auth-1", None)
    assert (row.status, row.provider_authorization_id) == ("authorized", "auth-1")
    replayed = service._claim(session, request)
    assert replayed is not None and replayed.provider_authorization_id == "auth-1"


def test_a_void_while_the_provider_answered_is_not_overwritten(session) -> None:
    request = _request()
    assert service._claim(session, request) is None
    service.void(session, provider=None, order_id=request.order_id)  # type: ignore[arg-type]
    row = service._finish(session, request.order_id, "authorized", "auth-late", None)
    assert row.status == "voided"  # the caller sees it and releases the late hold
    assert _status(session, request.order_id) == "voided"
    with pytest.raises(Conflict) as raised:
        service._claim(session, request)
    assert raised.value.code == "authorization_voided"


def test_a_tombstone_blocks_an_authorization_that_arrives_after_the_void(session) -> None:
    request = _request()
    service.void(session, provider=None, order_id=request.order_id)  # type: ignore[arg-type]
    with pytest.raises(Conflict):
        service._claim(session, request)
