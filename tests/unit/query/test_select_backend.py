"""The backend follows the mode `up` remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from wayfinder.local.config import LocalConfig
from wayfinder.query.compose import ComposeBackend
from wayfinder.query.local import LocalBackend
from wayfinder.query.model import QueryError
from wayfinder.query.select import backend
from wayfinder.store import TelemetryStore


def config(home: Path, mode: str | None) -> LocalConfig:
    home.mkdir(parents=True, exist_ok=True)
    if mode is not None:
        (home / "mode").write_text(mode)
    return LocalConfig.model_validate({"home": home, "mode": "local", "prometheus_port": 19090})


def test_compose_when_up_chose_compose(tmp_path: Path) -> None:
    assert isinstance(backend(config(tmp_path, "compose")), ComposeBackend)


def test_local_needs_the_store(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="run `make up` first"):
        backend(config(tmp_path, "local"))
    TelemetryStore(tmp_path / "telemetry.db").close()
    found = backend(config(tmp_path, "local"))
    assert isinstance(found, LocalBackend) and found.prometheus.url == "http://127.0.0.1:19090"


def test_local_before_any_up(tmp_path: Path) -> None:
    TelemetryStore(tmp_path / "telemetry.db").close()
    assert isinstance(backend(config(tmp_path, None)), LocalBackend)
