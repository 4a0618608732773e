"""The simulated provider's HTTP API (its own service.name: it is "outside" the shop)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from payment_provider.schemas import (
    AuthorizationOut,
    AuthorizationRequest,
    InvoiceOut,
    InvoiceRequest,
)
from payment_provider.service import Provider, Refusal

router = APIRouter(prefix="/v1")
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=100)]


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def _refusal(refusal: Refusal) -> JSONResponse:
    if refusal.status == 429:
        return JSONResponse(
            {"error": "rate_limited", "message": "too many requests"},
            status_code=429,
            headers={"Retry-After": str(refusal.retry_after_s or 1)},
        )
    return JSONResponse({"error": "unavailable", "message": "try again later"}, status_code=503)


@router.post("/authorizations", response_model=AuthorizationOut)
async def authorize(
    body: AuthorizationRequest, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    """Authorize a card payment: 200 approved, 402 declined, 429 rate limited, 503 unavailable."""
    answer = await _provider(request).authorize(body, idempotency_key)
    if isinstance(answer, Refusal):
        return _refusal(answer)
    return JSONResponse(answer.model_dump(), status_code=200 if answer.status == "approved" else 402)


@router.post("/authorizations/{authorization_id}/void")
async def void(authorization_id: str, request: Request) -> JSONResponse:
    """Void (release) an authorization hold; idempotent, 404 for an unknown authorization."""
    if not await _provider(request).void(authorization_id):
        return JSONResponse({"error": "not_found", "message": "no such authorization"}, status_code=404)
    return JSONResponse({"authorization_id": authorization_id, "status": "voided"})


@router.post("/invoices", response_model=InvoiceOut, status_code=201)
async def create_invoice(
    body: InvoiceRequest, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    """Issue an invoice number for an order (the simulated invoice gateway)."""
    answer = await _provider(request).create_invoice(body.order_id, idempotency_key, body.account_tier)
    if isinstance(answer, Refusal):
        return _refusal(answer)
    return JSONResponse(answer.model_dump(), status_code=201)
