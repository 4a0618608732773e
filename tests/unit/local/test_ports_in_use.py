"""Another program on a port local mode needs: `wayfinder up` says so at once and starts nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from wayfinder.local import ports
from wayfinder.local.ports import PortNeed, PortsInUse

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[3]
VARIABLES = ("POSTGRES", "REDIS", "STORE", "CHECKOUT", "INVENTORY", "PAYMENT", "PROVIDER", "PROMETHEUS")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port held by this test process, as another program would hold 8080."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_a_free_port_passes(listener: socket.socket):
    ports.check([PortNeed("checkout-api", free_port(), "WAYFINDER_CHECKOUT_PORT")])


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="the holder is read from /proc (Linux)")
def test_a_busy_port_names_the_port_the_holder_and_the_variable(listener: socket.socket):
    port = listener.getsockname()[1]
    with pytest.raises(PortsInUse) as caught:
        ports.check([PortNeed("checkout-api", port, "WAYFINDER_CHECKOUT_PORT")])
    (line,) = str(caught.value).splitlines()
    assert line.startswith(f"port {port} (checkout-api) is in use by pid {os.getpid()} (")
    assert line.endswith("stop it, or move checkout-api with WAYFINDER_CHECKOUT_PORT=<another port>")


def test_without_proc_the_line_still_names_port_and_variable(listener: socket.socket, tmp_path: Path):
    port = listener.getsockname()[1]
    with pytest.raises(PortsInUse) as caught:
        ports.check([PortNeed("redis", port, "WAYFINDER_REDIS_PORT")], proc=tmp_path)
    assert str(caught.value) == (
        f"port {port} (redis) is in use by another program (the system does not say which): "
        "stop it, or move redis with WAYFINDER_REDIS_PORT=<another port>"
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="the holder is read from /proc (Linux)")
def test_wayfinder_up_with_checkout_port_taken_says_which_and_starts_nothing(
    listener: socket.socket, tmp_path: Path
):
    port = listener.getsockname()[1]
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WAYFINDER_"))}
    env.update({f"WAYFINDER_{name}_PORT": str(free_port()) for name in VARIABLES})
    env.update({"WAYFINDER_MODE": "local", "WAYFINDER_HOME": str(home), "WAYFINDER_CHECKOUT_PORT": str(port)})
    result = subprocess.run(
        [sys.executable, "-m", "wayfinder.cli", "up"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    errors = result.stderr.splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"wayfinder: port {port} (checkout-api) is in use by pid {os.getpid()} (")
    assert "WAYFINDER_CHECKOUT_PORT=<another port>" in errors[0]
    # Nothing was started: no database folder, no process table.
    assert not (home / "postgres").exists()
    assert not (home / "run").exists()


def test_a_port_held_by_our_own_running_component_is_not_in_the_way(listener: socket.socket, tmp_path: Path):
    """`make up` twice: the second finds its own checkout-api on the port and carries on."""
    from wayfinder.local.config import isolated_config
    from wayfinder.local.stack import LocalStack

    port = listener.getsockname()[1]
    config = isolated_config(tmp_path, "http://127.0.0.1:9", "test", checkout_port=port)
    stack = LocalStack(config, report=lambda _: None)
    config.run_dir.mkdir(parents=True)
    pid_file = config.run_dir / "checkout-api.pid"
    pid_file.write_text(str(os.getpid()))  # "our" checkout-api is this (live) process
    assert port not in {need.port for need in stack.port_needs()}
    ports.check(stack.port_needs())
    pid_file.unlink()
    with pytest.raises(PortsInUse, match=f"port {port} \\(checkout-api\\)"):
        ports.check(stack.port_needs())
