"""A request's outcome is decided once: the body, the span status and a metric label agree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from payment.settings import Settings as PaymentSettings
from wayfinder.scenarios.control import FaultControl
from wayfinder.scenarios.paths import StatePaths
from wayfinder_common import faultstate, telemetry
from wayfinder_common.errors import DependencyUnavailable, Outcome, PaymentDeclined
from wayfinder_common.faulthooks import HANDLERS
from wayfinder_common.faultstate import FaultReader
from wayfinder_common.telemetry import business_span, mark_outcome
from wayfinder_common.web import create_app, request_outcome


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FaultControl:
    """The fault control over a throwaway sealed state, read by this process's hooks."""
    control = FaultControl(StatePaths(tmp_path))
    monkeypatch.setattr(faultstate, "_reader", FaultReader(control.paths.fault_state, control.paths.token))
    return control


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, control: FaultControl) -> FastAPI:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    app = create_app(PaymentSettings(), title="outcomes")
    seen: list[str] = []
    app.state.seen = seen

    @app.get("/declined")
    def declined() -> None:
        raise PaymentDeclined("no")

    @app.get("/unavailable")
    def unavailable() -> None:
        raise DependencyUnavailable("down", code="payment_provider_unavailable")

    @app.get("/bug")
    def bug() -> None:
        raise KeyError("a bug")

    # Named like checkout-api's handler: route.crash scopes are the shop's real handler names.
    @app.get("/fine", name="checkout")
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    # A service's own middleware, added after create_app like checkout-api's latency metric.
    async def record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        seen.append(request_outcome(request, response).code)
        return response

    app.middleware("http")(record)
    return app


def test_every_answer_is_settled_once_and_seen_by_the_outer_middleware(app: FastAPI) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    answers = [client.get(path) for path in ("/fine", "/declined", "/unavailable", "/bug")]
    assert [a.status_code for a in answers] == [200, 402, 503, 500]
    codes = ["success", "payment_declined", "payment_provider_unavailable", "internal_error"]
    assert [a.json().get("error", "success") for a in answers] == codes
    # The crash too: before, the catch-all ran outside every service middleware and no one saw it.
    assert app.state.seen == codes


def test_the_route_crash_hook_fails_the_handler_like_a_bug(app: FastAPI, control: FaultControl) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    control.switch_on("route.crash", "checkout", {"crash_rate": 1.0})
    crashed = client.get("/fine")
    assert (crashed.status_code, crashed.json()["error"]) == (500, "internal_error")
    # Other handlers are not in scope.
    assert client.get("/declined").status_code == 402
    control.reset()
    assert client.get("/fine").status_code == 200
    # The crash is settled inside the service's own middleware, like any bug.
    assert app.state.seen == ["internal_error", "payment_declined", "success"]


def test_the_route_crash_hook_is_not_an_endpoint(app: FastAPI) -> None:
    client = TestClient(app)
    # The old unauthenticated switch is gone: the sealed state is the only way in.
    assert client.put("/admin/faults/route:checkout", json={"crash_rate": 1.0}).status_code == 404
    assert client.get("/fine").status_code == 200


def test_route_crash_scopes_are_the_handlers_the_services_have() -> None:
    from checkout_api.api import router as checkout
    from inventory.api import router as inventory
    from payment.api import router as payment
    from payment_provider.api import router as provider
    from starlette.routing import Route

    names = {
        route.name
        for router in (checkout, inventory, payment, provider)
        for route in router.routes
        if isinstance(route, Route)
    }
    assert names == set(HANDLERS)


@pytest.mark.parametrize(
    ("outcome", "status", "error_type"),
    [
        (Outcome(402, "payment_declined"), StatusCode.UNSET, "payment_declined"),
        (Outcome(409, "out_of_stock"), StatusCode.UNSET, "out_of_stock"),
        (Outcome(503, "payment_provider_unavailable"), StatusCode.ERROR, "payment_provider_unavailable"),
        (Outcome(500, "internal_error"), StatusCode.ERROR, "internal_error"),
        (Outcome(201, "success"), StatusCode.UNSET, None),
    ],
)
def test_only_server_faults_mark_a_span_error(
    spans: tuple[TracerProvider, InMemorySpanExporter], outcome: Outcome, status: StatusCode, error_type: str
) -> None:
    provider, exporter = spans
    with provider.get_tracer("t").start_as_current_span("server") as span:
        mark_outcome(span, outcome)
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code == status
    assert (finished.attributes or {}).get("error.type") == error_type


def test_a_business_span_leaves_a_decline_unset_and_a_dependency_failure_error(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("t")
    for error in (PaymentDeclined("no"), DependencyUnavailable("down", code="inventory_unavailable")):
        with pytest.raises(type(error)), business_span(tracer, "checkout.place_order"):
            raise error
    declined, unavailable = exporter.get_finished_spans()
    assert declined.status.status_code == StatusCode.UNSET
    assert declined.attributes["error.type"] == "payment_declined"
    assert unavailable.status.status_code == StatusCode.ERROR
    assert unavailable.attributes["error.type"] == "inventory_unavailable"


@pytest.mark.parametrize(
    ("value", "on"),
    [("true", False), ("TRUE", False), (" True ", False), ("false", True), ("", True), ("1", True)],
)
def test_otel_sdk_disabled_follows_the_spec(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    # The OTel environment spec: only "true" (any case) disables; anything else leaves the SDK on.
    monkeypatch.setenv("OTEL_SDK_DISABLED", value)
    assert PaymentSettings().telemetry_on is on


def test_otel_sdk_disabled_installs_no_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_current", None)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert telemetry.setup_telemetry(PaymentSettings()) is None
    assert telemetry._current is None
    monkeypatch.setenv("OTEL_SDK_DISABLED", "false")
    monkeypatch.setenv("TELEMETRY_ENABLED", "false")  # the project switch still works on its own
    assert telemetry.setup_telemetry(PaymentSettings()) is None
