"""While a drill runs, what the trainee looked at, in order, with times: one JSON line per look,
in the state folder, never sent anywhere. The navigation commands call `record_look`; outside a
drill it does nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from wayfinder.local.config import LocalConfig


def drill_folder(home: Path | None = None) -> Path:
    return (home or LocalConfig().home) / "drill"


def active_file(home: Path | None = None) -> Path:
    """Present while a drill runs (its start time and seed; never the scenario's name)."""
    return drill_folder(home) / "active.json"


def path_file(home: Path | None = None) -> Path:
    return drill_folder(home) / "path.jsonl"


def record_look(what: str, **detail: Any) -> None:
    """Append one look (`alerts`, `metrics`, `traces`, `trace`, `logs`, `hint`) to the drill's path."""
    try:
        home = LocalConfig().home
    except Exception:  # settings the user broke must not break a navigation command
        return
    if not active_file(home).exists():
        return
    entry = {"t": time.time(), "what": what, **{k: v for k, v in detail.items() if v not in (None, [], ())}}
    with path_file(home).open("a") as out:
        out.write(json.dumps(entry, sort_keys=True) + "\n")


def read_path(home: Path | None = None) -> list[dict[str, Any]]:
    file = path_file(home)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
