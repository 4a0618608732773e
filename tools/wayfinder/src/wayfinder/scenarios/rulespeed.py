"""Alert rules at training speed, generated from the real-speed rules (the one source).

prometheus/rules/*.yml wait `for: 2m`/`5m` over `[5m]` windows: right for production, far too
slow for a drill. This divides every window, `for` and (in the promtool tests) every interval
and eval time by the speed, and slows the tests' counters by the same factor, so every rate,
ratio, quantile and gauge, and so every expected annotation, is the same at both speeds.
"""

from __future__ import annotations

import re
from pathlib import Path

TRAINING_SPEED = 10.0
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION = r"(?:\d+(?:ms|s|m|h|d))+"


def speed_in(requested: float, compose: bool) -> float:
    """The speed a run really gets. The compose stack's Prometheus evaluates only the real-speed
    rules (it mounts prometheus/ read-only and has no switch to the training ones), so a run
    compressed there would end before its alert's `for:` did: it runs at real speed."""
    return 1.0 if compose else requested


def alert_wait_s(requested: float | None, speed: float) -> float:
    """How long to wait for a page: at real speed the rules' 5m windows and `for:` add minutes."""
    if requested is not None:
        return requested
    return 300.0 if speed >= TRAINING_SPEED else 1200.0


def parse_duration(text: str) -> float:
    return sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d)", text))


def format_duration(seconds: float) -> str:
    millis = round(seconds * 1000)
    if millis % 1000:
        return f"{millis}ms"
    whole = millis // 1000
    return f"{whole // 60}m" if whole % 60 == 0 and whole >= 60 else f"{whole}s"


def _scale(text: str, speed: float) -> str:
    return format_duration(parse_duration(text) / speed)


def _header(source: str, speed: float) -> str:
    return (
        f"# GENERATED from {source} at speed {speed:g} by `wayfinder alert-rules --write`: do not edit.\n"
        "# Windows, `for`, test intervals and test counter steps are divided by the speed.\n"
    )


def scale_rules(text: str, speed: float) -> str:
    text = re.sub(rf"\[({DURATION})\]", lambda m: f"[{_scale(m.group(1), speed)}]", text)
    return re.sub(rf"(\bfor:\s*)({DURATION})", lambda m: m.group(1) + _scale(m.group(2), speed), text)


COUNTER = re.compile(r"series:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*?(?:_total|_bucket|_count|_sum))\{")
SERIES = re.compile(r"series:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)")
# A counter without a counter's suffix (the collector's own metrics carry none) is known by
# what the rules do with it: only counters go through rate() or increase().
RATE_OF = re.compile(r"\b(?:rate|irate|increase)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[\[{]")


def counters_in(rules: str) -> set[str]:
    """Series names the rules take a rate or an increase of."""
    return set(RATE_OF.findall(rules))


def _number(value: str, speed: float) -> str:
    return f"{float(value) / speed:g}"


def scale_counter_values(values: str, speed: float) -> str:
    """Counters grow `speed` times slower per sample, so every rate() stays the same per second."""

    def one(token: str) -> str:
        match = re.fullmatch(r"(-?[\d.]+)(?:([+-])([\d.]+))?(x\d+)?", token)
        if match is None:  # `_`, `stale`: no number to scale
            return token
        start, sign, step, times = match.groups()
        scaled = _number(start, speed)
        if sign:
            scaled += sign + _number(step, speed)
        return scaled + (times or "")

    return " ".join(one(token) for token in values.split())


def _scale_series_values(text: str, speed: float, counters: set[str]) -> str:
    lines, counter = [], False
    for line in text.splitlines(keepends=True):
        if "series:" in line:
            name = SERIES.search(line)
            counter = COUNTER.search(line) is not None or (name is not None and name.group(1) in counters)
        elif counter and (match := re.match(r"(\s*values:\s*')([^']*)(')", line)):
            line = match.group(1) + scale_counter_values(match.group(2), speed) + line[match.end(2) :]
        lines.append(line)
    return "".join(lines)


def scale_tests(text: str, speed: float, rules_dir: str, counters: set[str] | None = None) -> str:
    text = re.sub(r"\.\./rules/", f"../{rules_dir}/", text)
    text = _scale_series_values(text, speed, counters or set())
    return re.sub(
        rf"(\b(?:evaluation_interval|interval|eval_time):\s*)({DURATION})",
        lambda m: m.group(1) + _scale(m.group(2), speed),
        text,
    )


def generate(prometheus_dir: Path, speed: float = TRAINING_SPEED) -> dict[Path, str]:
    """Every training-speed file (path -> content) derived from prometheus/rules and prometheus/tests."""
    out: dict[Path, str] = {}
    counters = counters_in("".join(p.read_text() for p in sorted((prometheus_dir / "rules").glob("*.yml"))))
    for kind, target, scale in (
        ("rules", "rules-training", lambda t: scale_rules(t, speed)),
        ("tests", "tests-training", lambda t: scale_tests(t, speed, "rules-training", counters)),
    ):
        for source in sorted((prometheus_dir / kind).glob("*.yml")):
            relative = f"prometheus/{kind}/{source.name}"
            out[prometheus_dir / target / source.name] = _header(relative, speed) + scale(source.read_text())
    return out


def stale(prometheus_dir: Path, speed: float = TRAINING_SPEED) -> list[Path]:
    """Generated files that are missing or differ from what `generate` makes now."""
    return [
        p for p, text in generate(prometheus_dir, speed).items() if not p.exists() or p.read_text() != text
    ]


def write(prometheus_dir: Path, speed: float = TRAINING_SPEED) -> list[Path]:
    written = []
    for path, text in generate(prometheus_dir, speed).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written
