"""Stock reservation: all-or-nothing, row-locked, idempotent per order."""

from __future__ import annotations

import time
from collections import Counter

from opentelemetry import metrics, trace
from sqlalchemy import select
from sqlalchemy.orm import Session
from wayfinder_common.errors import Conflict, NotFound
from wayfinder_common.faulthooks import LockHoldParams
from wayfinder_common.faultstate import fault_reader
from wayfinder_common.metrics import LATENCY_BUCKETS_S
from wayfinder_common.telemetry import business_span

from inventory.models import Product, Reservation, ReservationItem
from inventory.schemas import Item, ProductOut, ReservationOut, ReservedLine

tracer = trace.get_tracer("inventory")
# The one place a hot row shows as a count: how long each catalogue SKU's row lock took to get.
# The SKU is bounded (the catalogue), so a breakdown by it is cheap and names the hot product.
lock_wait = metrics.get_meter("inventory").create_histogram(
    "inventory.lock.wait.duration",
    unit="s",
    description="Time to acquire a catalogue product's row lock (SELECT ... FOR UPDATE), by SKU",
    explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S,
)


def list_products(session: Session) -> list[ProductOut]:
    products = session.scalars(select(Product).order_by(Product.sku))
    return [ProductOut.model_validate(p, from_attributes=True) for p in products]


def reserve(session: Session, order_id: str, items: list[Item]) -> ReservationOut:
    """Take stock for every line or for none; a repeat for the same order returns the first result."""
    wanted = Counter[str]()
    for item in items:
        wanted[item.sku] += item.quantity
    with (
        business_span(tracer, "inventory.reserve", **{"order.id": order_id, "order.item_count": len(wanted)}),
        session.begin(),
    ):
        reservation = session.get(Reservation, order_id, with_for_update=True)
        if reservation is not None and reservation.status == "reserved":
            return _to_out(reservation)
        products = _lock_products(session, wanted, hold=True)
        unknown = sorted(set(wanted) - set(products))
        if unknown:
            raise NotFound(f"unknown SKU(s): {', '.join(unknown)}", code="unknown_sku", details=unknown)
        short = [
            {"sku": sku, "requested": qty, "available": products[sku].stock}
            for sku, qty in sorted(wanted.items())
            if products[sku].stock < qty
        ]
        if short:
            raise Conflict("not enough stock", code="out_of_stock", details=short)
        if reservation is None:
            reservation = Reservation(order_id=order_id, status="reserved")
            session.add(reservation)
        reservation.status = "reserved"
        reservation.items = [
            ReservationItem(sku=sku, quantity=qty, unit_price_cents=products[sku].price_cents)
            for sku, qty in sorted(wanted.items())
        ]
        for sku, qty in wanted.items():
            products[sku].stock -= qty
        session.flush()
        return _to_out(reservation)


def release(session: Session, order_id: str) -> ReservationOut | None:
    """Give a failed checkout's stock back; releasing twice (or nothing) is a no-op."""
    with business_span(tracer, "inventory.release", **{"order.id": order_id}), session.begin():
        reservation = session.get(Reservation, order_id, with_for_update=True)
        if reservation is None:
            return None
        if reservation.status == "reserved":
            products = _lock_products(session, {line.sku: line.quantity for line in reservation.items})
            for line in reservation.items:
                products[line.sku].stock += line.quantity
            reservation.status = "released"
        return _to_out(reservation)


def _lock_products(
    session: Session, skus: dict[str, int] | Counter[str], hold: bool = False
) -> dict[str, Product]:
    """Lock each product's row, one span per SKU: a hot row shows as one SKU's slow lock.

    `hold`: the inventory.lock_hold fault's slow work runs right after its SKU's lock is taken,
    before the next SKU's: rows locked earlier in the same order are held through it too (a hot
    row's wait spreads to them), rows after it are not."""
    products: dict[str, Product] = {}
    # In SKU order, so two checkouts over the same products can never deadlock.
    for sku in sorted(skus):
        with tracer.start_as_current_span("inventory.lock_stock") as span:
            started = time.perf_counter()
            product = session.scalars(select(Product).where(Product.sku == sku).with_for_update()).first()
            if product is not None:
                # Only catalogue SKUs: an unknown one is the caller's input, unbounded.
                span.set_attribute("product.sku", sku)
                lock_wait.record(time.perf_counter() - started, {"product.sku": sku})
                products[sku] = product
        if hold and sku in products:
            _hold_lock(sku)
    return products


def _hold_lock(sku: str) -> None:
    """The generic "hot row" fault hook (inventory.lock_hold): keep a SKU's row lock longer."""
    hold = fault_reader().params("inventory.lock_hold", sku)
    if isinstance(hold, LockHoldParams) and hold.hold_ms:
        time.sleep(hold.hold_ms / 1000)


def _to_out(reservation: Reservation) -> ReservationOut:
    lines = [
        ReservedLine(sku=i.sku, quantity=i.quantity, unit_price_cents=i.unit_price_cents)
        for i in reservation.items
    ]
    return ReservationOut(
        order_id=reservation.order_id,
        status=reservation.status,
        lines=lines,
        total_cents=sum(line.quantity * line.unit_price_cents for line in lines),
    )
