"""payment's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from wayfinder_common.domain import ID_PATTERN
from wayfinder_common.web import SessionDep

from payment import service
from payment.clients import ProviderClient
from payment.schemas import AuthorizationOut, AuthorizeRequest

router = APIRouter()


def _provider(request: Request) -> ProviderClient:
    client: ProviderClient = request.app.state.provider
    return client


ProviderDep = Annotated[ProviderClient, Depends(_provider)]


@router.post("/authorizations")
def authorize(body: AuthorizeRequest, session: SessionDep, provider: ProviderDep) -> AuthorizationOut:
    """Authorize an order's payment (402 payment_declined, 503 payment_provider_unavailable)."""
    return service.authorize(session, provider, body)


@router.post("/authorizations/{order_id}/void")
def void(
    order_id: Annotated[str, Path(max_length=36, pattern=ID_PATTERN)],
    session: SessionDep,
    provider: ProviderDep,
) -> dict[str, str]:
    """Void an abandoned order's authorization (idempotent; blocks a late authorize)."""
    service.void(session, provider, order_id)
    return {"order_id": order_id, "status": "voided"}
