"""Detectors for what must never be in telemetry: personal data, ids in span names, stack traces.

Pure string functions, so each rule stays a loop over records and the heuristics (and their
known false-positive guards) live in one reviewed place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

# Telemetry repeats itself (span names, routes, log bodies): the detectors remember the
# answers for recent distinct strings, which makes a check of a large store several times faster.
_CACHE = 1 << 16

_EMAIL = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})(?![\w-])"
)
# Celery names its nodes "celery@<host>"; with a dotted host name that looks like an address.
_NODE_NAME_USERS = frozenset({"celery"})
# 13-19 digits, single spaces or dashes allowed between them, not glued to other letters or
# digits (so hex trace ids and longer numbers are not split into "cards"). The first digit is
# 2-6: the major-industry identifiers card networks use (Mastercard 2/5, Amex 3, Visa 4,
# Discover 6). That also rules out epoch timestamps in ms/us/ns, which start with 1 until 2033.
_CARD = re.compile(r"(?<![0-9A-Za-z])[2-6]\d(?:[ -]?\d){11,17}(?![0-9A-Za-z])")
_TOKEN = re.compile(r"(?<![A-Za-z0-9])tok_[A-Za-z0-9_]{2,}")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LONG_HEX = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{12,}(?![0-9A-Za-z])")
_DIGIT_RUN = re.compile(r"\d{4,}")
_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$|\s)")

_TRACEBACK = re.compile(r'Traceback \(most recent call last\)|^\s*File "[^"\n]+", line \d+', re.MULTILINE)


@lru_cache(maxsize=_CACHE)
def emails(text: str) -> tuple[str, ...]:
    return tuple(m.group(0) for m in _EMAIL.finditer(text) if m.group(1).lower() not in _NODE_NAME_USERS)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@lru_cache(maxsize=_CACHE)
def card_numbers(text: str) -> tuple[str, ...]:
    found = []
    # A UUID's leading digit groups ("45112345-1234-1234-b140-…") can read as a Luhn-valid
    # number one time in ten: ids are not cards, so UUIDs are blanked out before the search.
    for match in _CARD.finditer(_without_uuids(text)):
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(match.group(0))
    return tuple(found)


@lru_cache(maxsize=_CACHE)
def card_tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text))


def id_in_span_name(name: str) -> str | None:
    """Why a span name is not a stable operation name, or None when it is."""
    if "://" in name:
        return "embeds a raw URL"
    if _UUID.search(name):
        return "embeds a UUID"
    if _LONG_HEX.search(name):
        return "embeds a long hex id"
    if _DIGIT_RUN.search(name):
        return "embeds a run of digits"
    if _NUMERIC_SEGMENT.search(name):
        return "has a numeric path segment"
    if "?" in name and "=" in name.split("?", 1)[1]:
        return "carries a query string"
    return None


def with_ids_elided(name: str) -> str:
    """A span name with ids replaced by {id}, so one bad name pattern is one finding, not thousands."""
    for pattern in (_UUID, _LONG_HEX, _DIGIT_RUN):
        name = pattern.sub("{id}", name)
    return _NUMERIC_SEGMENT.sub("/{id}", name)


@lru_cache(maxsize=_CACHE)
def is_stack_trace(text: str) -> bool:
    """A multi-line Python traceback (or a chunk of its frames)."""
    return "\n" in text.strip() and _TRACEBACK.search(text) is not None


def texts(value: Any) -> Iterator[str]:
    """Every string (and integer, as digits) inside an attribute value, lists and maps included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)


def mask(text: str) -> str:
    """Text safe to print in a report: personal data replaced by its kind."""
    text = _EMAIL.sub(lambda m: m.group(0) if m.group(1).lower() in _NODE_NAME_USERS else "<email>", text)
    text = _TOKEN.sub("<card token>", text)
    blanked = _without_uuids(text)
    cards = [m for m in _CARD.finditer(blanked) if card_numbers(m.group(0))]
    for match in reversed(cards):
        text = text[: match.start()] + "<card number>" + text[match.end() :]
    return text


def _without_uuids(text: str) -> str:
    """The text with every UUID replaced by letters of the same length (offsets unchanged)."""
    return _UUID.sub(lambda m: "u" * len(m.group(0)), text) if "-" in text else text


@lru_cache(maxsize=_CACHE)
def safe(text: str, limit: int = 80) -> str:
    """Text fit to print in a report: masked, one line, truncated."""
    text = " ".join(mask(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = 60) -> str:
    """A value quoted in a report (masked, one line, truncated)."""
    return repr(safe(value if isinstance(value, str) else repr(value), limit))
