"""checkout-api's outbound clients map downstream answers onto the domain error contract."""

from __future__ import annotations

import httpx
import pytest
from checkout_api.clients import InventoryClient, PaymentClient
from checkout_api.schemas import Item
from wayfinder_common.errors import Conflict, DependencyUnavailable, NotFound, PaymentDeclined


def _http(response: httpx.Response | Exception) -> httpx.Client:
    def handler(_: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://dep")


ITEMS = [Item(sku="SKU-MUG", quantity=1)]


@pytest.mark.parametrize(
    ("response", "error", "code"),
    [
        (httpx.Response(404, json={"error": "unknown_sku", "details": ["X"]}), NotFound, "unknown_sku"),
        (httpx.Response(409, json={"error": "out_of_stock"}), Conflict, "out_of_stock"),
        (httpx.Response(500, text="oops"), DependencyUnavailable, "inventory_unavailable"),
        (httpx.ConnectError("refused"), DependencyUnavailable, "inventory_unavailable"),
        (httpx.ReadTimeout("slow"), DependencyUnavailable, "inventory_unavailable"),
    ],
)
def test_inventory_errors(response: httpx.Response | Exception, error: type, code: str) -> None:
    with pytest.raises(error) as raised:
        InventoryClient(_http(response)).reserve("o1", ITEMS)
    assert raised.value.code == code


def test_payment_keeps_the_providers_specific_503_code() -> None:
    client = PaymentClient(_http(httpx.Response(503, json={"error": "payment_provider_unavailable"})))
    with pytest.raises(DependencyUnavailable) as raised:
        client.authorize("o1", "acct-0001", "eu-west", 100, "tok_x")
    assert raised.value.code == "payment_provider_unavailable"


def test_a_downstreams_own_database_outage_is_reported_as_that_dependency() -> None:
    client = PaymentClient(_http(httpx.Response(503, json={"error": "database_unavailable"})))
    with pytest.raises(DependencyUnavailable) as raised:
        client.authorize("o1", "acct-0001", "eu-west", 100, "tok_x")
    assert raised.value.code == "payment_unavailable"
    assert raised.value.details == {"downstream_error": "database_unavailable"}


def test_payment_decline() -> None:
    client = PaymentClient(_http(httpx.Response(402, json={"error": "payment_declined"})))
    with pytest.raises(PaymentDeclined):
        client.authorize("o1", "acct-0001", "eu-west", 100, "tok_x")


def test_payment_service_down_is_payment_unavailable() -> None:
    client = PaymentClient(_http(httpx.ConnectError("refused")))
    with pytest.raises(DependencyUnavailable) as raised:
        client.authorize("o1", "acct-0001", "eu-west", 100, "tok_x")
    assert raised.value.code == "payment_unavailable"
