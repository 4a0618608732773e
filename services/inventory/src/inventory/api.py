"""Inventory's HTTP routes: products, reserve, release."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from wayfinder_common.domain import ID_PATTERN
from wayfinder_common.errors import NotFound
from wayfinder_common.web import SessionDep

from inventory import service
from inventory.schemas import ProductOut, ReservationOut, ReserveRequest

router = APIRouter()


@router.get("/products")
def get_products(session: SessionDep) -> list[ProductOut]:
    """The catalogue with current stock."""
    return service.list_products(session)


@router.post("/reservations")
def reserve(body: ReserveRequest, session: SessionDep) -> ReservationOut:
    """Reserve every line of an order, or none (404 unknown_sku, 409 out_of_stock)."""
    return service.reserve(session, body.order_id, body.items)


@router.post("/reservations/{order_id}/release")
def release(
    order_id: Annotated[str, Path(max_length=36, pattern=ID_PATTERN)], session: SessionDep
) -> ReservationOut:
    """Return a reservation's stock; idempotent."""
    released = service.release(session, order_id)
    if released is None:
        raise NotFound("no reservation for this order", code="reservation_not_found")
    return released
