"""A request's outcome is decided once: the body, the span status and a metric label agree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from payment.settings import Settings as PaymentSettings
from wayfinder_common import telemetry
from wayfinder_common.errors import DependencyUnavailable, Outcome, PaymentDeclined
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
def app(monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("FAULT_HOOKS", "true")
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

    @app.get("/fine")
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


def test_a_route_fault_hook_crashes_the_handler_like_a_bug(app: FastAPI) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    client.put("/admin/faults/route:fine", json={"crash_rate": 1.0}).raise_for_status()
    crashed = client.get("/fine")
    assert (crashed.status_code, crashed.json()["error"]) == (500, "internal_error")
    client.delete("/admin/faults").raise_for_status()
    assert client.get("/fine").status_code == 200
    # PUT, the crash, DELETE, the healthy call again.
    assert app.state.seen == ["success", "internal_error", "success", "success"]


def test_fault_hooks_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    client = TestClient(create_app(PaymentSettings(), title="no hooks"))
    assert client.put("/admin/faults/route:healthz", json={"crash_rate": 1.0}).status_code == 404


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


def test_a_service_with_its_own_fault_book_shares_it_with_the_route_hooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wayfinder_common.faults import Fault, FaultBook

    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("FAULT_HOOKS", "true")
    book = FaultBook({"authorize:eu-west": Fault(latency_ms=60)})
    client = TestClient(
        create_app(PaymentSettings(), title="own book", faults=book), raise_server_exceptions=False
    )
    client.put("/admin/faults/route:healthz", json={"crash_rate": 1.0}).raise_for_status()
    # One /admin/faults: the service's own scopes and the route hooks in the same book.
    assert set(client.get("/admin/faults").json()) == {"authorize:eu-west", "route:healthz"}
    assert client.get("/healthz").status_code == 500
