"""The first `wayfinder up` puts a random Grafana admin password into .env; it never replaces one."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from wayfinder import compose_mode
from wayfinder.compose_env import ensure_admin_password

ROOT = Path(__file__).resolve().parents[3]


def _password(env_file: Path) -> str:
    (line,) = [x for x in env_file.read_text().splitlines() if x.startswith("GRAFANA_ADMIN_PASSWORD=")]
    return line.split("=", 1)[1]


def test_fresh_checkout_gets_env_from_the_example_with_a_random_password(tmp_path: Path):
    (tmp_path / ".env.example").write_text((ROOT / ".env.example").read_text())
    out = io.StringIO()
    assert ensure_admin_password(tmp_path, out, environ={}) is True
    env_file = tmp_path / ".env"
    password = _password(env_file)
    assert len(password) >= 20 and password not in (ROOT / ".env.example").read_text()
    assert "GRAFANA_PORT=3000" in env_file.read_text()  # the rest of the example came along
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "admin password" in out.getvalue() and password not in out.getvalue()


def test_two_machines_get_different_passwords(tmp_path: Path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        ensure_admin_password(folder, io.StringIO(), environ={})
    assert _password(first / ".env") != _password(second / ".env")


def test_a_configured_password_is_never_replaced(tmp_path: Path):
    (tmp_path / ".env").write_text("GRAFANA_PORT=3300\nGRAFANA_ADMIN_PASSWORD=mine\n")
    assert ensure_admin_password(tmp_path, io.StringIO(), environ={}) is False
    assert _password(tmp_path / ".env") == "mine"
    (tmp_path / ".env").write_text("GRAFANA_ADMIN_PASSWORD=\n")
    assert (
        ensure_admin_password(tmp_path, io.StringIO(), environ={"GRAFANA_ADMIN_PASSWORD": "shell"}) is False
    )
    assert _password(tmp_path / ".env") == ""


def test_an_empty_value_in_env_is_filled_in_place(tmp_path: Path):
    (tmp_path / ".env").write_text("GRAFANA_PORT=3300\nGRAFANA_ADMIN_PASSWORD=\nLOKI_PORT=3100\n")
    assert ensure_admin_password(tmp_path, io.StringIO(), environ={}) is True
    lines = (tmp_path / ".env").read_text().splitlines()
    assert lines[0] == "GRAFANA_PORT=3300" and lines[2] == "LOKI_PORT=3100"
    assert _password(tmp_path / ".env")


def test_up_writes_the_password_before_compose_runs(tmp_path: Path):
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    seen: list[str] = []

    def runner(argv, **_):
        seen.append((tmp_path / ".env").read_text())
        return 0

    assert compose_mode.up(tmp_path, runner=runner, out=io.StringIO(), environ={}, checks=list) == 0
    assert seen and "GRAFANA_ADMIN_PASSWORD=" in seen[0] and _password(tmp_path / ".env")


def test_up_prepares_the_fault_folder_and_names_its_group_in_env(tmp_path: Path):
    from wayfinder.compose_env import ensure_fault_group

    (tmp_path / ".env.example").write_text((ROOT / ".env.example").read_text())
    group = ensure_fault_group(tmp_path, environ={})
    faults = tmp_path / ".wayfinder" / "faults"
    # The token exists before compose mounts the folder, readable by the group the services join.
    assert stat.S_IMODE((faults / "token").stat().st_mode) == 0o640
    assert group == faults.stat().st_gid
    assert f"WAYFINDER_GID={group}" in (tmp_path / ".env").read_text().splitlines()


def test_a_configured_fault_group_is_never_replaced(tmp_path: Path):
    from wayfinder.compose_env import ensure_fault_group

    (tmp_path / ".env").write_text("WAYFINDER_GID=4242\n")
    ensure_fault_group(tmp_path, environ={})
    assert (tmp_path / ".env").read_text() == "WAYFINDER_GID=4242\n"
