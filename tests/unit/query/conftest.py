"""Replay recorded Prometheus, Tempo and Loki answers through httpx.MockTransport."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

RECORDED = Path(__file__).parent / "recorded"


@dataclass
class Replay:
    """Path -> (status, recorded file); every request is kept for the assertions."""

    routes: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, name = self.routes.get(request.url.path, (404, ""))
        if not name:
            return httpx.Response(status, text="404 page not found\n")
        body = (RECORDED / name).read_bytes()
        kind = "application/json" if name.endswith(".json") else "text/plain; charset=utf-8"
        return httpx.Response(status, content=body, headers={"Content-Type": kind})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.answer))

    def params(self, path: str) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests if r.url.path == path]


@pytest.fixture
def replay() -> Replay:
    return Replay()


def recorded(name: str) -> object:
    return json.loads((RECORDED / name).read_text())
