"""The fault control: loopback only, a token on every route, bounded input; the sealed state
file is unreadable without the token and ignored when sealed with another one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from wayfinder.scenarios.control import FaultControl, control_app
from wayfinder.scenarios.paths import StatePaths
from wayfinder_common.faulthooks import RateLimitParams
from wayfinder_common.faultstate import FaultReader, ensure_token

LOOPBACK = ("127.0.0.1", 40000)


@pytest.fixture
def control(tmp_path: Path) -> FaultControl:
    return FaultControl(StatePaths(tmp_path))


def _client(control: FaultControl, peer: tuple[str, int] = LOOPBACK) -> TestClient:
    return TestClient(control_app(control), client=peer)


def _auth(control: FaultControl) -> dict[str, str]:
    return {"Authorization": f"Bearer {control.token}"}


def test_the_token_is_generated_once_and_private(control: FaultControl):
    path = control.paths.token
    # The owner writes, the owner's group reads (the compose services join it), nobody else.
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.parent.stat().st_mode & 0o007 == 0
    assert ensure_token(path) == control.token and len(control.token) >= 40
    control.switch_on("provider.latency", "eu-west", {"latency_ms": 10})
    assert control.paths.fault_state.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(("method", "url"), [("GET", "/faults"), ("PUT", "/faults/provider.latency/eu-west")])
def test_no_token_is_401_and_a_wrong_token_is_403(control: FaultControl, method: str, url: str):
    client = _client(control)
    body = {"latency_ms": 100}
    assert client.request(method, url, json=body).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.request(method, url, json=body, headers=wrong).status_code == 403
    assert control.state().entries == []


def test_a_caller_that_is_not_loopback_is_refused(control: FaultControl):
    client = _client(control, ("10.1.2.3", 40000))
    assert client.get("/faults", headers=_auth(control)).status_code == 403


@pytest.mark.parametrize(
    ("hook", "scope", "params"),
    [
        ("provider.latency", "mars-north", {"latency_ms": 100}),
        ("provider.latency", "x" * 500, {"latency_ms": 100}),
        ("provider.explode", "eu-west", {"latency_ms": 100}),
        ("provider.latency", "eu-west", {"latency_ms": 100, "note": "scenario-name"}),
        ("provider.latency", "eu-west", {"latency_ms": 10**9}),
        ("inventory.lock_hold", "lamp; DROP TABLE", {"hold_ms": 10}),
    ],
)
def test_bad_input_is_422_and_nothing_is_kept(control: FaultControl, hook: str, scope: str, params: dict):
    response = _client(control).put(f"/faults/{hook}/{scope}", json=params, headers=_auth(control))
    assert response.status_code == 422
    assert control.state().entries == []


def test_a_switch_reaches_a_reader_and_the_file_names_nothing(control: FaultControl):
    client = _client(control)
    params = {"rate_per_s": 0.7, "burst": 1, "retry_after_s": 1}
    assert (
        client.put("/faults/provider.rate_limit/eu-west", json=params, headers=_auth(control)).status_code
        == 200
    )
    reader = FaultReader(control.paths.fault_state, control.paths.token)
    assert reader.params("provider.rate_limit", "eu-west") == RateLimitParams(**params)
    assert reader.params("provider.rate_limit", "us-east") is None
    sealed = control.paths.fault_state.read_bytes()
    for word in (b"rate_limit", b"eu-west", b"provider", b"retry_after"):
        assert word not in sealed
    assert client.delete("/faults", headers=_auth(control)).json() == {"entries": []}
    assert reader.params("provider.rate_limit", "eu-west") is None


def test_a_state_sealed_with_another_token_is_ignored(tmp_path: Path):
    ours = FaultControl(StatePaths(tmp_path / "ours"))
    theirs = FaultControl(StatePaths(tmp_path / "theirs"))
    theirs.switch_on("db.statement_delay", "all", {"delay_ms": 50})
    ours.paths.fault_state.parent.mkdir(parents=True, exist_ok=True)
    ours.paths.fault_state.write_bytes(theirs.paths.fault_state.read_bytes())
    reader = FaultReader(ours.paths.fault_state, ours.paths.token)
    assert reader.state().entries == []


def test_no_configuration_means_no_faults():
    assert FaultReader(None, None).params("db.statement_delay", "all") is None
