"""Each service-side hook does what its catalogue entry says, and nothing when it is off."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from wayfinder.scenarios.control import FaultControl
from wayfinder.scenarios.paths import StatePaths
from wayfinder_common import db, faultstate, regression
from wayfinder_common.faultstate import FaultReader
from wayfinder_common.settings import ServiceSettings


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FaultControl:
    control = FaultControl(StatePaths(tmp_path))
    monkeypatch.setattr(faultstate, "_reader", FaultReader(control.paths.fault_state, control.paths.token))
    return control


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_the_statement_delay_sleeps_only_while_switched_on(control: FaultControl, monkeypatch):
    sleeps = Sleeps()
    monkeypatch.setattr(db.time, "sleep", sleeps)
    db._statement_delay()
    control.switch_on("db.statement_delay", "all", {"delay_ms": 80})
    db._statement_delay()
    control.reset()
    db._statement_delay()
    assert sleeps == [0.08]


def test_the_lock_hold_applies_to_its_sku_only(control: FaultControl, monkeypatch):
    from inventory import service

    sleeps = Sleeps()
    monkeypatch.setattr(service.time, "sleep", sleeps)
    control.switch_on("inventory.lock_hold", "SKU-LAMP", {"hold_ms": 900})
    service._hold_lock("SKU-MUG")
    service._hold_lock("SKU-LAMP")
    assert sleeps == [0.9]


def test_the_relay_drops_context_only_while_switched_on(control: FaultControl):
    from outbox_relay import relay

    assert relay._drop_context() is False
    control.switch_on("relay.drop_context", "all", {"drop_rate": 1.0})
    assert relay._drop_context() is True


class Settings(ServiceSettings):
    service_version: str = "0.2.0"


def test_a_regression_slows_its_route_in_its_version_only(control: FaultControl, monkeypatch):
    sleeps = Sleeps()

    async def fake_sleep(seconds: float) -> None:
        sleeps(seconds)

    monkeypatch.setattr(regression.asyncio, "sleep", fake_sleep)
    monkeypatch.setattr(Settings, "service_name", "inventory")
    app = FastAPI()
    app.middleware("http")(regression.release_regression(Settings()))
    app.post("/reservations")(lambda: {"ok": True})
    app.get("/products")(lambda: [])
    client = TestClient(app)
    control.switch_on(
        "release.regression", "inventory", {"version": "0.2.0", "route": "/reservations", "latency_ms": 1200}
    )
    client.post("/reservations")
    client.get("/products")
    control.switch_on(
        "release.regression", "inventory", {"version": "0.3.0", "route": "/reservations", "latency_ms": 1200}
    )
    client.post("/reservations")
    assert sleeps == [1.2]
