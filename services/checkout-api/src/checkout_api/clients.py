"""Outbound calls to inventory and payment: each wraps an injected httpx.Client with a timeout."""

from __future__ import annotations

from typing import Any

import httpx
from wayfinder_common.errors import (
    Conflict,
    DependencyUnavailable,
    NotFound,
    PaymentDeclined,
    WayfinderError,
)

from checkout_api.schemas import Item, ProductOut

PASSED_THROUGH_503 = frozenset({"payment_provider_unavailable"})

_BY_STATUS: dict[int, type[WayfinderError]] = {
    402: PaymentDeclined,
    404: NotFound,
    409: Conflict,
}


def _call(http: httpx.Client, method: str, path: str, unavailable_code: str, **kwargs: Any) -> httpx.Response:
    """One request; transport failures and 5xx become a 503 naming the dependency."""
    try:
        response = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise DependencyUnavailable(
            f"{unavailable_code.removesuffix('_unavailable')} did not answer", code=unavailable_code
        ) from exc
    if response.is_success:
        return response
    body = _json(response)
    code = str(body.get("error") or unavailable_code)
    message = str(body.get("message") or "dependency error")
    if response.status_code >= 500:
        # Keep a downstream's code only when it names something beyond that dependency (the
        # provider); payment's own "database_unavailable" would read like OUR database is down.
        if code in PASSED_THROUGH_503:
            raise DependencyUnavailable(message, code=code, details=body.get("details"))
        raise DependencyUnavailable(message, code=unavailable_code, details={"downstream_error": code})
    error_class = _BY_STATUS.get(response.status_code, WayfinderError)
    raise error_class(message, code=code, details=body.get("details"))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class InventoryClient:
    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def reserve(self, order_id: str, items: list[Item]) -> dict[str, Any]:
        body = {"order_id": order_id, "items": [i.model_dump() for i in items]}
        return _call(self._http, "POST", "/reservations", "inventory_unavailable", json=body).json()

    def release(self, order_id: str) -> None:
        _call(self._http, "POST", f"/reservations/{order_id}/release", "inventory_unavailable")

    def products(self) -> list[ProductOut]:
        response = _call(self._http, "GET", "/products", "inventory_unavailable")
        return [ProductOut.model_validate(p) for p in response.json()]


class PaymentClient:
    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def authorize(
        self, order_id: str, account_id: str, region: str, amount_cents: int, card_token: str
    ) -> dict[str, Any]:
        body = {
            "order_id": order_id,
            "account_id": account_id,
            "region": region,
            "amount_cents": amount_cents,
            "card_token": card_token,
        }
        return _call(self._http, "POST", "/authorizations", "payment_unavailable", json=body).json()

    def void(self, order_id: str) -> None:
        _call(self._http, "POST", f"/authorizations/{order_id}/void", "payment_unavailable")
