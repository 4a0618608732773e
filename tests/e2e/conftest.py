"""The shop, for real: every service as its own process (started by local mode's own code),
exporting real OTLP to a receiver inside the test process."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support import free_port, poll_until

EMAIL = "e2e.customer+private@example.org"
CARD_TOKEN = "tok_e2e_visa_4242"


@dataclass
class Shop:
    stack: Any
    store: Any
    config: Any
    # Orders whose telemetry a test broke on purpose (a lost-context fault): the session-wide
    # contract check leaves their traces out, and checks everything else.
    deliberately_broken_orders: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return self.config.checkout_url

    @property
    def provider_url(self) -> str:
        return f"http://127.0.0.1:{self.config.provider_port}"

    def checkout(
        self,
        key: str | None = None,
        *,
        region: str = "us-east",
        account: str = "acct-0001",
        items: list[dict[str, Any]] | None = None,
        card_token: str = CARD_TOKEN,
        email: str = EMAIL,
        timeout: float = 30.0,
        base_url: str | None = None,
    ) -> httpx.Response:
        body = {
            "account_id": account,
            "email": email,
            "region": region,
            "items": items or [{"sku": "SKU-MUG", "quantity": 1}],
            "payment": {"card_token": card_token},
        }
        headers = {"Idempotency-Key": key or f"e2e-{uuid.uuid4()}"}
        return httpx.post(f"{base_url or self.url}/checkout", json=body, headers=headers, timeout=timeout)

    def trace_of(self, response: httpx.Response) -> str:
        header = response.headers["traceresponse"]
        return header.split("-")[1]

    def spans_until(self, trace_id: str, names: set[str], timeout_s: float = 30.0) -> list[Any]:
        """The trace's spans once every named span has arrived (and no parent is missing)."""

        def complete() -> list[Any] | None:
            spans = self.store.spans(trace_id=trace_id)
            ids = {s.span_id for s in spans}
            seen = {s.name for s in spans}
            whole = all(s.parent_span_id is None or s.parent_span_id in ids for s in spans)
            return spans if names <= seen and whole else None

        return poll_until(complete, f"spans {sorted(names)} of trace {trace_id}", timeout_s)

    @property
    def faults(self) -> Any:
        from wayfinder.scenarios.control import FaultControl
        from wayfinder.scenarios.paths import StatePaths

        return FaultControl(StatePaths(self.config.home))

    def set_fault(self, scope: str, **fault: Any) -> None:
        """The provider's whole behaviour for one scope (the `provider.behaviour` hook)."""
        self.faults.switch_on("provider.behaviour", scope, fault)

    def reset_faults(self) -> None:
        self.faults.reset()

    @contextmanager
    def extra_service(self, name: str, module: str, **env: str) -> Iterator[str]:
        """One more process of a shop service, with its own settings (a drill's knobs), stopped after.

        It shares the shop's database, dependencies and OTLP endpoint, and its own service.name.
        """
        from wayfinder.local.processes import ProcessSpec

        port = free_port()
        process = f"{name}-extra-{port}"
        service_env = {**self.stack.service_env(name), "PORT": str(port), **env}
        self.stack.processes.start(ProcessSpec(process, [sys.executable, "-m", module, "serve"], service_env))
        url = f"http://127.0.0.1:{port}"
        try:

            def ready() -> bool:
                try:
                    return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            poll_until(ready, f"{process} to be ready", 60)
            yield url
        finally:
            self.stack.processes.stop(process)

    def stock(self, sku: str) -> int:
        products = httpx.get(f"{self.url}/products", timeout=10).json()
        return next(p["stock"] for p in products if p["sku"] == sku)

    def sql(self, query: str, **params: Any) -> list[Any]:
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.stack.postgres.url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(sqlalchemy.text(query), params))
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    from wayfinder.local.config import isolated_config
    from wayfinder.local.stack import LocalStack
    from wayfinder.store.db import TelemetryStore
    from wayfinder.store.server import OTLPReceiver

    root = tmp_path_factory.mktemp("shop")
    home = root / "home"
    home.mkdir()
    # Where local mode keeps its store, so the CLI's query layer (walk, traces) reads this one.
    store = TelemetryStore(home / "telemetry.db")
    receiver = OTLPReceiver(store, port=0).start()
    config = isolated_config(
        home, receiver.endpoint, "test", span_export_delay_ms=200, metric_export_interval_ms=500
    )
    stack = LocalStack(config, report=lambda _: None)
    try:
        stack.up()
        yield Shop(stack, store, config)
    finally:
        stack.down()
        receiver.stop()
        store.close()


@pytest.fixture
def prometheus(shop: Shop) -> Iterator[Any]:
    """Local mode's Prometheus, as `wayfinder up` runs it, scraping the receiver the shop exports to."""
    from urllib.parse import urlsplit

    from wayfinder.local.prerequisites import MissingPrerequisite, prometheus_server
    from wayfinder.local.prometheus import LocalPrometheus

    from tests.support import missing_tool

    try:
        prometheus_server()
    except MissingPrerequisite as exc:
        missing_tool(str(exc))
    port = urlsplit(shop.config.otlp_endpoint).port
    config = shop.config.model_copy(update={"store_port": port, "prometheus_port": free_port()})
    local = LocalPrometheus(config, shop.stack.processes)
    local.start()
    try:
        yield local
    finally:
        local.stop()
