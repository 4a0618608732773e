"""`wayfinder load`'s arguments: durations, counts, the traffic mixes, and the Locust command line."""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

N = TypeVar("N", int, float)

MAX_DURATION_S = 24 * 3600
_DURATION = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s?)?")


def parse_duration(text: str) -> int:
    """`90`, `90s`, `2m`, `1h30m`, `1m30s` -> whole seconds (1 s .. 24 h)."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 2m or 1h30m")
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + int(match["s"] or 0)
    if not 1 <= seconds <= MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"{text!r}: a run lasts from 1 s to 24 h")
    return seconds


def positive_int(text: str) -> int:
    return _positive(int, text, "a whole number")


def positive_float(text: str) -> float:
    return _positive(float, text, "a number")


def _positive(convert: Callable[[str], N], text: str, what: str) -> N:
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def loadtest_dir() -> Path:
    """The checkout's loadtest/ folder (the journeys live there, not in this package)."""
    from wayfinder.local.config import find_project_root

    return find_project_root() / "loadtest"


def _traffic_mix() -> ModuleType:
    # Standard library only, so the CLI can check a mix without importing Locust (and gevent).
    path = loadtest_dir() / "traffic_mix.py"
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no {path}: run this from a Wayfinder checkout")
    name = "wayfinder_loadtest_traffic_mix"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def region_mix(text: str) -> str:
    """A checked, normalized region mix (the journeys' own parser decides what is valid)."""
    mix = _traffic_mix()
    return _checked(mix.canonical_mix, text, mix.REGIONS)


def tier_mix(text: str) -> str:
    mix = _traffic_mix()
    return _checked(mix.canonical_mix, text, mix.TIERS)


def _checked(canonical: Callable[[str, Sequence[str]], str], text: str, known: Sequence[str]) -> str:
    try:
        return canonical(text, known)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class LoadPlan:
    """One run: who is loaded, how hard, for how long, with which mix."""

    host: str
    users: int
    duration_s: int
    rate: float | None = None
    steps: int = 1
    region_mix: str | None = None
    tier_mix: str | None = None

    def locustfiles(self, folder: Path) -> list[Path]:
        files = [folder / "locustfile.py"]
        if self.steps > 1:
            files.append(folder / "stepped.py")
        return files

    def locust_args(self) -> list[str]:
        """The options Locust's own parser (and the journeys' options) read in the child."""
        args = ["--host", self.host, "--users", str(self.users), "--run-time", f"{self.duration_s}s"]
        # Every user of a steady run starts within the first second.
        args += ["--spawn-rate", str(self.users)]
        if self.rate is not None:
            args += ["--rate", repr(self.rate)]
        if self.region_mix is not None:
            args += ["--region-mix", self.region_mix]
        if self.tier_mix is not None:
            args += ["--tier-mix", self.tier_mix]
        if self.steps > 1:
            args += ["--steps", str(self.steps), "--step-seconds", repr(self.duration_s / self.steps)]
        return args
