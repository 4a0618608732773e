"""Weaver's own validation of the registry, when the weaver binary is installed."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from contract_builders import REGISTRY


def test_weaver_registry_check() -> None:
    weaver = shutil.which("weaver")
    if weaver is None:
        pytest.skip(
            "weaver is not on PATH: OpenTelemetry Weaver ships only as GitHub release binaries "
            "(shell/powershell/msi installers) and a Docker image, with no PyPI or npm package, and "
            "resolving the registry's semconv dependency needs a download; the loader's own checks "
            "(test_contract_registry.py) run instead"
        )
    result = subprocess.run(
        [weaver, "registry", "check", "-r", str(REGISTRY)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
