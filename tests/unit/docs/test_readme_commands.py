"""Every `wayfinder` command the README shows is one the CLI accepts: the walkthrough and the
command tables must not drift from the parser (a renamed flag fails here, not for a reader)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from wayfinder.cli import build_parser

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_commands() -> list[str]:
    commands = []
    for line in README.read_text().splitlines():
        # `uv run wayfinder ...` in the code blocks, `$ wayfinder ...` in the walk's transcript.
        match = re.match(r"^\s*(?:uv run |\$ )?wayfinder (.+)$", line)
        if match:
            text = match.group(1).split("  #", 1)[0].split("; ")[0].strip()
            commands.append(text)
    return commands


def test_the_readme_shows_the_walkthrough_commands() -> None:
    shown = readme_commands()
    assert len(shown) >= 20
    for verb in ("walk", "alerts", "metrics", "traces", "trace", "logs", "scenario", "verify", "load"):
        assert any(c.split()[0] == verb for c in shown), verb


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_parses(command: str) -> None:
    argv = [word.replace("<trace-id>", "0" * 32) for word in shlex.split(command.replace("…", ""))]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"`wayfinder {command}` does not parse (exit {exc.code})")
