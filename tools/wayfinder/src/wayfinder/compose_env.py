"""The compose stack's .env: on first `wayfinder up`, a random Grafana admin password goes into it.

docker-compose.yml requires GRAFANA_ADMIN_PASSWORD (`${GRAFANA_ADMIN_PASSWORD:?...}`) and nothing
in the repository sets one, so no known password exists. So that a fresh machine still needs
only `make up`, the first run writes a random one into .env (git-ignored), created from
.env.example when missing; a value set in .env or in the shell is never replaced.

The same goes for WAYFINDER_GID, the host group the services join to read the sealed fault
state mounted from .wayfinder/faults (its files are 0640; the containers run as uid 10001).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

ENV_FILE = ".env"
ENV_EXAMPLE = ".env.example"
PASSWORD_VARIABLE = "GRAFANA_ADMIN_PASSWORD"
GROUP_VARIABLE = "WAYFINDER_GID"


def _line(name: str) -> re.Pattern[str]:
    return re.compile(rf"^{name}=(.*)$", re.M)


def _configured(text: str, name: str = PASSWORD_VARIABLE) -> str:
    match = _line(name).search(text)
    return match.group(1).strip().strip("'\"") if match else ""


def _set_once(project_dir: Path, name: str, value: str, environ: Mapping[str, str] | None) -> Path | None:
    """Put `name=value` into .env unless the shell or .env sets it; the file written, else None."""
    environ = os.environ if environ is None else environ
    if environ.get(name):
        return None
    env_file = Path(project_dir) / ENV_FILE
    example = Path(project_dir) / ENV_EXAMPLE
    if env_file.is_file():
        text = env_file.read_text(encoding="utf-8")
    else:
        text = example.read_text(encoding="utf-8") if example.is_file() else ""
    if _configured(text, name):
        return None
    line = _line(name)
    if line.search(text):
        text = line.sub(lambda _: f"{name}={value}", text, count=1)
    else:
        text = text + ("" if not text or text.endswith("\n") else "\n") + f"{name}={value}\n"
    env_file.write_text(text, encoding="utf-8")
    env_file.chmod(0o600)  # it holds a secret: readable by its owner only
    return env_file


def ensure_admin_password(project_dir: Path, out: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Write a random admin password into .env unless one is configured; True when it wrote one."""
    env_file = _set_once(project_dir, PASSWORD_VARIABLE, secrets.token_urlsafe(18), environ)
    if env_file is not None:
        print(f"Generated a Grafana admin password (user admin) into {env_file}.", file=out)
    return env_file is not None


def ensure_fault_group(project_dir: Path, environ: Mapping[str, str] | None = None) -> int:
    """Create .wayfinder/faults (token included) and put its group into .env; the group id.

    Created here, before compose mounts it: a bind-mounted folder that does not exist yet would
    be created by the Docker engine, owned by root, and the host's tools could not write into it.
    """
    from wayfinder_common.faultstate import ensure_token

    from wayfinder.scenarios.paths import StatePaths

    paths = StatePaths(Path(project_dir) / ".wayfinder")
    ensure_token(paths.token)
    group = paths.faults.stat().st_gid
    _set_once(project_dir, GROUP_VARIABLE, str(group), environ)
    return group
