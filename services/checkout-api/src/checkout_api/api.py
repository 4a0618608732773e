"""checkout-api's HTTP routes: checkout, order lookup, the catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from wayfinder_common.errors import InvalidRequest, Outcome
from wayfinder_common.web import SessionDep, settle

from checkout_api import service
from checkout_api.schemas import CheckoutRequest, CheckoutResponse, OrderOut, ProductOut
from checkout_api.settings import Settings

router = APIRouter()


def _clients(request: Request) -> service.Clients:
    clients: service.Clients = request.app.state.clients
    return clients


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ClientsDep = Annotated[service.Clients, Depends(_clients)]
SettingsDep = Annotated[Settings, Depends(_settings)]


@router.post("/checkout", status_code=201, response_model=CheckoutResponse)
def checkout(
    body: CheckoutRequest,
    request: Request,
    session: SessionDep,
    clients: ClientsDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> JSONResponse:
    """Place an order: 201, or 402/404/409/422/503 with a stable `error` code; replays are idempotent."""
    # Region and account tier label this request's latency metric (main.record_checkout_latency).
    request.state.scope = scope = service.Scope(region=body.region)
    if not idempotency_key:
        raise InvalidRequest("the Idempotency-Key header is required", code="missing_idempotency_key")
    answer = service.place_order(
        session, clients, idempotency_key, body, settings.idempotency_takeover_s, scope
    )
    if answer.status >= 400:
        # A replayed failure answers with the first attempt's code: settled like a fresh one.
        settle(request, Outcome(answer.status, str(answer.body.get("error") or "error")))
    return JSONResponse(answer.body, status_code=answer.status)


@router.get("/orders/{order_id}")
def get_order(order_id: str, session: SessionDep) -> OrderOut:
    """One order and its lines (404 order_not_found)."""
    return service.get_order(session, order_id)


@router.get("/products")
def products(clients: ClientsDep) -> list[ProductOut]:
    """The catalogue with stock, from inventory."""
    return clients.inventory.products()
