"""Authorize a payment once per order: the row is the idempotency record, the provider the charge."""

from __future__ import annotations

import logging

from opentelemetry import metrics, trace
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from wayfinder_common.errors import Conflict, DependencyUnavailable, PaymentDeclined
from wayfinder_common.telemetry import business_span

from payment.clients import ProviderClient, ProviderUnavailable
from payment.models import Authorization
from payment.schemas import AuthorizationOut, AuthorizeRequest

log = logging.getLogger(__name__)
tracer = trace.get_tracer("payment")
authorizations = metrics.get_meter("payment").create_counter(
    "payment.authorizations",
    unit="{authorization}",
    description="Authorization outcomes by region",
)


def authorize(session: Session, provider: ProviderClient, request: AuthorizeRequest) -> AuthorizationOut:
    """200 authorized, PaymentDeclined (402) or DependencyUnavailable (503); never charges twice."""
    attributes = {"order.id": request.order_id, "region": request.region}
    with business_span(tracer, "payment.authorize", **attributes) as span:
        settled = _claim(session, request)
        if settled is not None:
            span.set_attribute("payment.outcome", _outcome(settled.status))
            return _settled(settled)
        body = {
            "amount_cents": request.amount_cents,
            "currency": request.currency,
            "region": request.region,
            "card_token": request.card_token,
        }
        try:
            # The order id is the provider's idempotency key: a retry after a lost answer
            # (our timeout, a crash) gets the provider's first decision, not a second charge.
            answer = provider.authorize(request.order_id, body, request.region)
        except ProviderUnavailable as exc:
            _finish(session, request.order_id, "failed", None, None)
            span.set_attribute("payment.outcome", "unavailable")
            authorizations.add(1, {"region": request.region, "payment.outcome": "unavailable"})
            raise DependencyUnavailable(
                "the payment provider is unavailable",
                code="payment_provider_unavailable",
                retry_after_s=2,
                details={"reason": exc.reason, "attempts": exc.attempts},
            ) from exc
        status = "authorized" if answer.approved else "declined"
        row = _finish(session, request.order_id, status, answer.authorization_id, answer.decline_code)
        if row.status == "voided":
            if answer.approved and answer.authorization_id:
                try:
                    provider.void(answer.authorization_id)
                except ProviderUnavailable:
                    log.error("could not void a late hold", extra={"order.id": request.order_id})
            raise Conflict("this order's payment was voided", code="authorization_voided")
        span.set_attribute("payment.outcome", _outcome(status))
        authorizations.add(1, {"region": request.region, "payment.outcome": _outcome(status)})
        log.info(
            "payment %s",
            status,
            extra={
                "order.id": request.order_id,
                "region": request.region,
                "payment.outcome": _outcome(status),
            },
        )
        return _settled(row)


def void(session: Session, provider: ProviderClient, order_id: str) -> None:
    """Release an abandoned order's hold (idempotent); a void before any authorize blocks it."""
    with business_span(tracer, "payment.void", **{"order.id": order_id}), session.begin():
        row = session.get(Authorization, order_id, with_for_update=True)
        if row is None:
            # A tombstone: an authorize arriving late for this order must not place a hold.
            session.add(
                Authorization(order_id=order_id, account_id="", region="", amount_cents=0, status="voided")
            )
            return
        if row.status == "authorized" and row.provider_authorization_id:
            try:
                provider.void(row.provider_authorization_id)
            except ProviderUnavailable as exc:
                raise DependencyUnavailable(
                    "the payment provider is unavailable", code="payment_provider_unavailable"
                ) from exc
        row.status = "voided"
    log.info("authorization voided", extra={"order.id": order_id})


def _claim(session: Session, request: AuthorizeRequest) -> Authorization | None:
    """Return a settled row to replay, or record a pending attempt and return None."""
    with session.begin():
        inserted = session.execute(
            insert(Authorization)
            .values(
                order_id=request.order_id,
                account_id=request.account_id,
                region=request.region,
                amount_cents=request.amount_cents,
                status="pending",
            )
            .on_conflict_do_nothing(index_elements=["order_id"])
            .returning(Authorization.order_id)
        ).scalar_one_or_none()
        if inserted is not None:
            return None  # a new order (almost every call): one round trip, not a read, then a write
        row = session.get(Authorization, request.order_id, with_for_update=True, populate_existing=True)
        assert row is not None, "claimed rows are never deleted"
        if row.status == "voided":
            raise Conflict("this order's payment was voided", code="authorization_voided")
        if row.status in ("authorized", "declined"):
            return row
        row.status = "pending"
    return None


def _finish(
    session: Session, order_id: str, status: str, authorization_id: str | None, decline: str | None
) -> Authorization:
    with session.begin():
        # One statement: the UPDATE takes the row lock the old SELECT ... FOR UPDATE took, and
        # a row voided meanwhile is left alone (and read back) instead of overwritten.
        row = session.execute(
            update(Authorization)
            .where(Authorization.order_id == order_id, Authorization.status != "voided")
            .values(status=status, provider_authorization_id=authorization_id, decline_code=decline)
            .returning(Authorization)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is None:
            # Voided while the provider answered: the caller releases the new hold.
            row = session.get(Authorization, order_id, populate_existing=True)
            assert row is not None, "claimed rows are never deleted"
    return row


def _outcome(status: str) -> str:
    return {"authorized": "authorized", "declined": "declined"}.get(status, "unavailable")


def _settled(row: Authorization) -> AuthorizationOut:
    if row.status == "declined":
        raise PaymentDeclined("the card was declined", details={"decline_code": row.decline_code})
    return AuthorizationOut(
        order_id=row.order_id, status=row.status, authorization_id=row.provider_authorization_id
    )
