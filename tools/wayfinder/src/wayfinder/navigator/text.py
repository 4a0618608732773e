"""Terminal text helpers shared by the navigator's views: fitting, formatting, ANSI colour.

Every width is counted in characters of the plain text; colour codes are added last, after
fitting, so they never count against (or get cut out of) a column.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
YELLOW = "\x1b[33m"
# Services get a stable colour each, so one service's bars line up by eye down the waterfall.
SERVICE_PALETTE = ("\x1b[36m", "\x1b[32m", "\x1b[34m", "\x1b[35m", "\x1b[33m", "\x1b[96m", "\x1b[92m")
ELLIPSIS = "…"
GAP = "  "  # between columns

# What an engineer scans for first, in priority order, with the short label shown.
KEY_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("http.route", "route"),
    ("http.response.status_code", "status"),
    ("region", "region"),
    ("account.tier", "tier"),
    ("retry.attempt", "retry"),
    ("provider.retry_after_s", "retry-after"),
    ("payment.outcome", "payment"),
    ("provider.decision", "decision"),
    ("queue.name", "queue"),
    ("invoice.status", "invoice"),
    ("checkout.outcome", "outcome"),
    ("error.type", "error"),
    ("db.operation.name", "db"),
)
MAX_KEY_ATTRIBUTES = 3


def fit(text: str, width: int) -> str:
    """`text` cut to `width` characters (with an ellipsis when cut); never padded."""
    if width <= 0:
        return ""
    text = " ".join(text.split()) if "\n" in text or "\t" in text else text
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def fit_items(items: list[str], width: int) -> str:
    """Whole items, space-separated, as many as fit; a cut item only when even the first is too long."""
    shown = ""
    for item in items:
        candidate = f"{shown} {item}" if shown else item
        if len(candidate) > width:
            return fit(candidate, width) if not shown else fit(f"{shown} {ELLIPSIS}", width)
        shown = candidate
    return shown


def first_line(text: str) -> str:
    """The first line of a multi-line text (a traceback), saying how many lines were left out."""
    lines = text.strip().splitlines() or [""]
    return lines[0] if len(lines) == 1 else f"{lines[0]} [+{plural(len(lines) - 1, 'line')}]"


def cell(text: str, width: int, align_right: bool = False) -> str:
    """`text` fitted and padded to exactly `width` characters."""
    fitted = fit(text, width)
    return fitted.rjust(width) if align_right else fitted.ljust(width)


def paint(text: str, style: str, enabled: bool) -> str:
    return f"{style}{text}{RESET}" if enabled and style and text.strip() else text


def service_style(service: str, services: list[str]) -> str:
    """The palette colour of `service` given every service of the view, in first-seen order."""
    index = services.index(service) if service in services else len(services)
    return SERVICE_PALETTE[index % len(SERVICE_PALETTE)]


def format_ms(milliseconds: float) -> str:
    if milliseconds < 10:
        return f"{milliseconds:.2f} ms"
    return f"{milliseconds:,.1f} ms"


def format_clock(unix_nano: int) -> str:
    """Wall-clock time of day in UTC with milliseconds: 14:03:07.250."""
    moment = datetime.fromtimestamp(unix_nano / 1e9, tz=UTC)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_value(value: Any) -> str:
    """An attribute value as a short human string (no Python reprs, no quotes on strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(format_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return "" if value is None else str(value)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def key_attributes(
    attributes: dict[str, Any], limit: int = MAX_KEY_ATTRIBUTES, failed: bool = False
) -> list[str]:
    """`label=value` for the first `limit` key attributes present, in priority order.

    On a failed span or record, error.type goes first: it is the one a reader needs then.
    """
    order = sorted(KEY_ATTRIBUTES, key=lambda pair: pair[0] != "error.type") if failed else KEY_ATTRIBUTES
    found = [f"{label}={format_value(attributes[key])}" for key, label in order if key in attributes]
    return found[:limit]
