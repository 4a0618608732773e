"""The invoice gateway (hosted by the simulated provider): idempotent per order."""

from __future__ import annotations

import httpx
from wayfinder_common.jobs import InvoiceJob


class GatewayError(Exception):
    """The gateway did not issue an invoice; `reason` is a bounded failure.reason value."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.retryable = reason != "gateway_rejected"


class InvoiceGateway:
    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def issue(self, job: InvoiceJob) -> str:
        """Return the invoice number; the order id is the idempotency key, so redelivery is safe."""
        try:
            response = self._http.post(
                "/v1/invoices",
                json={
                    "order_id": job.order_id,
                    "amount_cents": job.total_cents,
                    "region": job.region,
                    "account_tier": job.account_tier,
                },
                headers={"Idempotency-Key": f"invoice-{job.order_id}"},
            )
        except httpx.TimeoutException as exc:
            raise GatewayError("gateway_timeout", type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise GatewayError("gateway_unavailable", type(exc).__name__) from exc
        if response.status_code == 201:
            return str(response.json()["invoice_number"])
        if response.status_code == 429 or response.status_code >= 500:
            raise GatewayError("gateway_unavailable", f"HTTP {response.status_code}")
        raise GatewayError("gateway_rejected", f"HTTP {response.status_code}")
