"""Placing an order: reserve stock, authorize payment, then commit order + outbox row together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from sqlalchemy.orm import Session
from wayfinder_common.db import database_errors
from wayfinder_common.domain import TIERS
from wayfinder_common.errors import Conflict, DependencyUnavailable, NotFound, WayfinderError, error_body
from wayfinder_common.jobs import INVOICE_TASK, InvoiceJob
from wayfinder_common.outbox import OutboxEvent, current_trace_carrier
from wayfinder_common.telemetry import business_span, current_trace_id

from checkout_api import idempotency
from checkout_api.clients import InventoryClient, PaymentClient
from checkout_api.models import Account, IdempotencyKey, Order, OrderItem
from checkout_api.schemas import CheckoutRequest, OrderLine, OrderOut

log = logging.getLogger(__name__)
tracer = trace.get_tracer("checkout-api")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


@dataclass
class Scope:
    """The bounded dimensions a checkout's latency is sliced by: is a problem local to one of them?"""

    region: str
    account_tier: str | None = None  # known once the account is

    def labels(self) -> dict[str, str]:
        labels = {"region": self.region}
        # Only the registry's tiers: a stray database value must not mint a new series.
        if self.account_tier in TIERS:
            labels["account.tier"] = self.account_tier
        return labels


@dataclass(frozen=True)
class Clients:
    inventory: InventoryClient
    payment: PaymentClient


def place_order(
    session: Session,
    clients: Clients,
    key: str,
    request: CheckoutRequest,
    takeover_after_s: float,
    scope: Scope | None = None,
) -> Answer:
    """The checkout: one order per Idempotency-Key, stock released on every failure path."""
    attributes = {
        "account.id": request.account_id,
        "region": request.region,
        "order.item_count": len(request.items),
    }
    with business_span(tracer, "checkout.place_order", **attributes) as span:
        try:
            with database_errors():
                answer = _place(session, clients, key, request, takeover_after_s, scope, span)
        except WayfinderError as exc:
            # Every way out carries the outcome: unknown accounts and database outages included.
            span.set_attribute("checkout.outcome", exc.code)
            raise
        return answer


def _place(
    session: Session,
    clients: Clients,
    key: str,
    request: CheckoutRequest,
    takeover_after_s: float,
    scope: Scope | None,
    span: trace.Span,
) -> Answer:
    with session.begin():
        account = session.get(Account, request.account_id)
    if account is None:
        raise NotFound("unknown account", code="unknown_account")
    span.set_attribute("account.tier", account.tier)
    if scope is not None:
        scope.account_tier = account.tier
    body_hash = idempotency.request_hash(request.model_dump(mode="json"))
    claim = idempotency.claim(session, key, body_hash, takeover_after_s)
    if isinstance(claim, idempotency.Replay):
        span.set_attribute("checkout.outcome", "replayed")
        return Answer(claim.status, claim.body)
    span.set_attribute("order.id", claim.order_id)
    try:
        # Database failures become a 503 here, so they settle like any transient failure.
        with database_errors():
            outcome = _run(session, clients, key, claim, request, account.tier)
    except WayfinderError as exc:
        _settle_failure(session, key, claim.attempt_id, exc)
        raise
    span.set_attribute("checkout.outcome", "success" if outcome.status == 201 else "replayed")
    return outcome


def _run(
    session: Session,
    clients: Clients,
    key: str,
    claim: idempotency.Claimed,
    request: CheckoutRequest,
    tier: str,
) -> Answer:
    order_id = claim.order_id
    try:
        reservation = clients.inventory.reserve(order_id, request.items)
    except DependencyUnavailable:
        # The reservation may have happened with its answer lost: give it back to be sure.
        _release_unless_taken_over(session, clients.inventory, key, claim)
        raise
    try:
        authorization = clients.payment.authorize(
            order_id,
            request.account_id,
            request.region,
            reservation["total_cents"],
            request.payment.card_token,
        )
        return _commit(session, key, claim, request, reservation, authorization, tier)
    except Exception:
        _release_unless_taken_over(session, clients.inventory, key, claim)
        raise


def _commit(
    session: Session,
    key: str,
    claim: idempotency.Claimed,
    request: CheckoutRequest,
    reservation: dict[str, Any],
    authorization: dict[str, Any],
    tier: str,
) -> Answer:
    """Order, items, outbox row and the idempotent answer: one transaction, all or nothing."""
    order_id = claim.order_id
    lines = [OrderLine.model_validate(line) for line in reservation["lines"]]
    job = InvoiceJob(
        order_id=order_id,
        account_id=request.account_id,
        account_tier=tier,
        region=request.region,
        total_cents=reservation["total_cents"],
        item_count=sum(line.quantity for line in lines),
    )
    body = {
        "order_id": order_id,
        "status": "confirmed",
        "total_cents": job.total_cents,
        "currency": job.currency,
        "trace_id": current_trace_id(),
    }
    with session.begin():
        # Completing the key first locks it, which serialises two attempts that both got this
        # far: the one that was taken over finds the key gone and answers with the winner's
        # result instead. Order, outbox row and the answer commit together or not at all.
        if not idempotency.complete_if_owned(session, key, claim.attempt_id, 201, body):
            return _answer_of_the_newer_attempt(session, key)
        session.add(
            Order(
                order_id=order_id,
                account_id=request.account_id,
                email=str(request.email),
                region=request.region,
                status="confirmed",
                total_cents=job.total_cents,
                currency=job.currency,
                authorization_id=authorization.get("authorization_id"),
                items=[OrderItem(**line.model_dump()) for line in lines],
            )
        )
        # The trace context goes into the row: the relay continues this trace when it publishes.
        session.add(
            OutboxEvent(
                event_type=INVOICE_TASK, payload=job.model_dump(), trace_context=current_trace_carrier()
            )
        )
    log.info("order confirmed", extra={"order.id": order_id, "region": request.region})
    return Answer(201, body)


def _answer_of_the_newer_attempt(session: Session, key: str) -> Answer:
    # FOR UPDATE: if the newer attempt is committing its answer right now, wait for it and
    # replay it rather than answer "in progress".
    row = session.get(IdempotencyKey, key, with_for_update=True, populate_existing=True)
    if row is not None and row.state == "completed" and row.response_status is not None:
        return Answer(row.response_status, row.response_body or {})
    raise Conflict("a newer request with this Idempotency-Key took over", code="request_in_progress")


def _settle_failure(session: Session, key: str, attempt_id: str, exc: WayfinderError) -> None:
    """A final answer (declined, out of stock) is replayed; a transient one may be retried."""
    try:
        if isinstance(exc, DependencyUnavailable):
            idempotency.release_for_retry(session, key, attempt_id)
        else:
            body = error_body(exc.code, exc.message, exc.details, current_trace_id())
            with session.begin():
                idempotency.complete_if_owned(session, key, attempt_id, exc.status, body)
    except Exception:
        # The database may be what failed; a stale in-progress key is taken over later.
        log.warning("could not record the checkout's failure", extra={"error.type": exc.code})


def _release_unless_taken_over(
    session: Session, inventory: InventoryClient, key: str, claim: idempotency.Claimed
) -> None:
    """Give the stock back, unless a newer attempt now owns this order id (and its stock)."""
    try:
        with session.begin():
            still_ours = idempotency.owned(session, key, claim.attempt_id) is not None
    except Exception:
        still_ours = True  # cannot tell (database down): releasing is the safer default
    if not still_ours:
        return
    try:
        inventory.release(claim.order_id)
    except WayfinderError as exc:
        log.error("stock release failed", extra={"order.id": claim.order_id, "error.type": exc.code})


def get_order(session: Session, order_id: str) -> OrderOut:
    with session.begin():
        order = session.get(Order, order_id)
        if order is None:
            raise NotFound("no such order", code="order_not_found")
        return OrderOut(
            order_id=order.order_id,
            status=order.status,
            account_id=order.account_id,
            region=order.region,
            total_cents=order.total_cents,
            currency=order.currency,
            lines=[
                OrderLine(sku=i.sku, quantity=i.quantity, unit_price_cents=i.unit_price_cents)
                for i in order.items
            ],
        )
