"""`make up` to the first trace: from the command until a checkout's trace is in the embedded store.

Runs the real `make up` (local mode) twice on free ports in a throwaway state folder: once fresh
(initdb, every migration: what a new engineer waits for) and once more after `make down` (state
kept). Each run ends when the root span of one order is queryable in the store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from wayfinder.local.config import LocalConfig, find_project_root, free_port
from wayfinder.local.orders import place_order
from wayfinder.store.db import TelemetryStore

TARGET_FRESH_S = 30.0
PORTS = ("postgres", "redis", "store", "checkout", "inventory", "payment", "provider", "prometheus")


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WAYFINDER_"))}
    env.update({f"WAYFINDER_{name.upper()}_PORT": str(free_port()) for name in PORTS})
    env.update({"WAYFINDER_MODE": "local", "WAYFINDER_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    return env


def _command(verb: str) -> list[str]:
    # `make up` itself where make exists (uv sync, setup, up); the CLI it calls otherwise.
    if shutil.which("make"):
        return ["make", "--no-print-directory", "-C", str(find_project_root()), verb]
    return [sys.executable, "-m", "wayfinder.cli", verb]


def _first_trace_s(env: dict[str, str]) -> float:
    """Seconds from `make up` until one order's root span is in the store."""
    config = LocalConfig.model_validate(
        {
            k.removeprefix("WAYFINDER_").lower(): v
            for k, v in env.items()
            if k.startswith("WAYFINDER_") and k != "WAYFINDER_MODE"
        }
    )
    started = time.monotonic()
    # Read `make up`'s lines as they come: each says which part just became ready, and when.
    steps: list[str] = []
    with subprocess.Popen(
        _command("up"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as up:
        assert up.stdout is not None
        for line in up.stdout:
            if line.startswith("Wayfinder is up"):
                steps.append(f"{time.monotonic() - started:.1f} s up returned")
                break
            if line.startswith("  "):
                steps.append(f"{time.monotonic() - started:.1f} s {line.split()[0]}")
        up.stdout.read()
    if up.returncode != 0:
        raise RuntimeError(f"make up failed ({up.returncode}); steps: {steps}")
    print("    ready at: " + ", ".join(steps), flush=True)
    result = place_order(
        config.checkout_url,
        f"bench-{uuid.uuid4()}",
        region="us-east",
        tier="pro",
        email="bench@example.com",
        sku="SKU-MUG",
        quantity=1,
        card_token="tok_visa",
    )
    if result.trace_id is None:
        raise RuntimeError(f"the checkout answered {result.status} without a trace id")
    store = TelemetryStore(config.store_db)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(s.parent_span_id is None for s in store.spans(trace_id=result.trace_id)):
                return time.monotonic() - started
            time.sleep(0.05)
    finally:
        store.close()
    raise RuntimeError("the checkout's trace never reached the store")


def main() -> bool:
    # A shared machine's load changes these figures more than any code change: say what it was.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"make up to the first trace (local mode, embedded store; {os.cpu_count()} cores, load {load:.1f}):"
    )
    with tempfile.TemporaryDirectory() as folder:
        env = _environment(Path(folder) / "home")
        try:
            fresh = _first_trace_s(env)
            print(f"  fresh state folder: {fresh:5.1f} s (target <= {TARGET_FRESH_S:.0f} s)", flush=True)
            subprocess.run(_command("down"), env=env, capture_output=True, timeout=120, check=True)
            again = _first_trace_s(env)
            print(f"  again, state kept:  {again:5.1f} s")
        finally:
            subprocess.run(_command("down"), env=env, capture_output=True, timeout=120, check=False)
    return fresh <= TARGET_FRESH_S


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
