"""The compose stack's .env: on first `wayfinder up`, a random Grafana admin password goes into it.

docker-compose.yml requires GRAFANA_ADMIN_PASSWORD (`${GRAFANA_ADMIN_PASSWORD:?...}`) and nothing
in the repository sets one, so no known password exists. So that a fresh machine still needs
only `make up`, the first run writes a random one into .env (git-ignored), created from
.env.example when missing; a value set in .env or in the shell is never replaced.
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
_LINE = re.compile(rf"^{PASSWORD_VARIABLE}=(.*)$", re.M)


def _configured(text: str) -> str:
    match = _LINE.search(text)
    return match.group(1).strip().strip("'\"") if match else ""


def ensure_admin_password(project_dir: Path, out: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Write a random admin password into .env unless one is configured; True when it wrote one."""
    environ = os.environ if environ is None else environ
    if environ.get(PASSWORD_VARIABLE):
        return False
    env_file = Path(project_dir) / ENV_FILE
    example = Path(project_dir) / ENV_EXAMPLE
    if env_file.is_file():
        text = env_file.read_text(encoding="utf-8")
    else:
        text = example.read_text(encoding="utf-8") if example.is_file() else ""
    if _configured(text):
        return False
    password = secrets.token_urlsafe(18)
    if _LINE.search(text):
        text = _LINE.sub(lambda _: f"{PASSWORD_VARIABLE}={password}", text, count=1)
    else:
        text = text + ("" if not text or text.endswith("\n") else "\n") + f"{PASSWORD_VARIABLE}={password}\n"
    env_file.write_text(text, encoding="utf-8")
    env_file.chmod(0o600)  # a secret: readable by its owner only
    print(f"Generated a Grafana admin password (user admin) into {env_file}.", file=out)
    return True
