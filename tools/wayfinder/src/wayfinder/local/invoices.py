"""`wayfinder invoices redrive`: re-drive every recorded invoice failure with one command.

The work is outbox-relay's own `redrive` command (it owns the outbox); this runs it with the
environment local mode gives the relay, or inside the relay's container in compose mode.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from wayfinder.local.config import LocalConfig, find_project_root
from wayfinder.local.stack import LocalStack

RELAY = "outbox-relay"


def register(sub: Any) -> None:
    invoices = sub.add_parser("invoices", help="operate the invoice pipeline")
    actions = invoices.add_subparsers(dest="action", required=True, metavar="ACTION")
    redrive = actions.add_parser(
        "redrive", help="re-drive every failed or dead-lettered invoice (after fixing the cause)"
    )
    redrive.set_defaults(handler=cmd_redrive)


def cmd_redrive(args: argparse.Namespace) -> int:
    config = LocalConfig()
    mode_file = config.home / "mode"
    if mode_file.exists() and mode_file.read_text().strip() == "compose":
        argv = ["docker", "compose", "exec", "-T", RELAY, "python", "-m", "outbox_relay", "redrive"]
        return subprocess.run(argv, cwd=find_project_root(), check=False).returncode
    stack = LocalStack(config, report=lambda _: None)
    argv = [sys.executable, "-m", "outbox_relay", "redrive"]
    return subprocess.run(argv, env=stack.service_env(RELAY), check=False, timeout=60).returncode
