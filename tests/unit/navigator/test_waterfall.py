"""The trace waterfall read as structure: row order, indentation, bar geometry, markers, width."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from wayfinder.navigator import render_trace
from wayfinder.navigator.waterfall import bar
from wayfinder.store.model import SpanRecord

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_760_000_000_000_000_000
MS = 1_000_000
BLOCKS = "█▏▎▍▌▋▊▉"


def make(
    span_id: str,
    parent: str | None,
    name: str,
    service: str,
    start_ms: int,
    end_ms: int,
    attributes: Mapping[str, Any] | None = None,
    status: str = "UNSET",
) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE,
        span_id=span_id * 16,
        parent_span_id=parent * 16 if parent else None,
        name=name,
        kind="INTERNAL",
        start_unix_nano=T0 + start_ms * MS,
        end_unix_nano=T0 + end_ms * MS,
        status_code=status,
        status_message="",
        service_name=service,
        attributes=dict(attributes or {}),
        resource={"service.name": service},
        scope_name="test",
    )


# Deliberately out of order: the renderer, not the caller, builds the tree.
PAYMENT = {
    "region": "eu-west",
    "payment.outcome": "unavailable",
    "error.type": "payment_provider_unavailable",
}
HTTP = {"http.route": "/checkout", "http.response.status_code": 502, "order.id": "never-shown"}
CHECKOUT = [
    make("c", "b", "payment.authorize", "payment", 200, 380, PAYMENT, status="ERROR"),
    make("a", None, "POST /checkout", "checkout-api", 0, 400, HTTP),
    make("d", "b", "inventory.reserve", "inventory", 100, 150, {"order.item_count": 2}),
    make("b", "a", "checkout.place_order", "checkout-api", 40, 390, {"account.tier": "pro"}),
    make("e", "9", "provider.authorize", "payment-provider", 300, 350, {"provider.decision": "timeout"}),
]
NAMES = [
    "POST /checkout",
    "checkout.place_order",
    "inventory.reserve",
    "payment.authorize",
    "provider.authorize",
]


def span_rows(text: str) -> dict[str, str]:
    """Row text by span name (the two header lines skipped)."""
    rows = text.splitlines()[2:]
    return {name: next(row for row in rows if f" {name}" in row) for name in NAMES}


def bar_offset(row: str, bar_start: int) -> int:
    return next(i for i, char in enumerate(row) if i >= bar_start and char in BLOCKS) - bar_start


def test_rows_follow_the_tree_with_indentation_by_depth() -> None:
    text = render_trace(CHECKOUT)
    rows = text.splitlines()[2:]

    assert [next(name for name in NAMES if f" {name}" in row) for row in rows] == NAMES
    by_name = span_rows(text)
    root_column = by_name["POST /checkout"].index("POST /checkout")
    depths = {
        "checkout.place_order": 1,
        "inventory.reserve": 2,
        "payment.authorize": 2,
        "provider.authorize": 0,
    }
    for name, depth in depths.items():
        assert by_name[name].index(name) - root_column == 2 * depth, name


def test_header_counts_spans_services_and_errors() -> None:
    header, titles = render_trace(CHECKOUT).splitlines()[:2]
    assert header.startswith(f"trace {TRACE}")
    for part in ("400.0 ms", "5 spans", "4 services", "1 error"):
        assert part in header
    assert titles.split()[:3] == ["service", "span", "duration"]


def test_bars_sit_on_the_trace_time_axis() -> None:
    text = render_trace(CHECKOUT)
    titles = text.splitlines()[1]
    bar_start = titles.index("0 …")
    rows = span_rows(text)
    offsets = {name: bar_offset(row, bar_start) for name, row in rows.items()}

    by_start = sorted(CHECKOUT, key=lambda s: s.start_unix_nano)
    assert [offsets[s.name] for s in by_start] == sorted(offsets.values())
    assert offsets["POST /checkout"] == 0
    assert offsets["POST /checkout"] < offsets["checkout.place_order"] < offsets["inventory.reserve"]
    assert offsets["inventory.reserve"] < offsets["payment.authorize"] < offsets["provider.authorize"]
    root_bar = rows["POST /checkout"][bar_start:].split("  ")[0]
    short_bar = rows["inventory.reserve"][bar_start + offsets["inventory.reserve"] :].split(" ")[0]
    assert set(root_bar) == {"█"}  # the root spans the whole axis
    assert len(short_bar) < len(root_bar) / 4  # 50 ms of 400 ms


def test_bar_geometry() -> None:
    assert bar(0, 100, 0, 100, 10) == "█" * 10
    assert bar(50, 100, 0, 100, 10) == " " * 5 + "█" * 5
    assert bar(0, 25, 0, 100, 10) == "██▌" + " " * 7
    assert bar(99, 99, 0, 100, 10).strip() == "▏"  # a zero-length span stays visible
    assert len(bar(100, 100, 0, 100, 10)) == 10


def test_errors_orphans_and_key_attributes_are_marked() -> None:
    rows = span_rows(render_trace(CHECKOUT))

    assert rows["payment.authorize"].startswith("✗")
    assert [name for name, row in rows.items() if row.startswith("✗")] == ["payment.authorize"]
    assert "(parent missing)" in rows["provider.authorize"]
    assert [name for name, row in rows.items() if "(parent missing)" in row] == ["provider.authorize"]
    assert "route=/checkout" in rows["POST /checkout"] and "never-shown" not in rows["POST /checkout"]
    error_row = rows["payment.authorize"]
    after_bar = error_row[max(error_row.rfind(block) for block in BLOCKS) + 1 :]
    assert after_bar.strip().startswith("error=payment_provid")  # error.type first on a failed span
    assert "{" not in "".join(rows.values())  # no raw dicts


@pytest.mark.parametrize("width", [120, 100, 80, 60, 40])
def test_every_line_fits_the_width(width: int) -> None:
    lines = render_trace(CHECKOUT, width=width).splitlines()
    assert len(lines) == 2 + len(CHECKOUT)
    assert max(len(line) for line in lines) <= width


def test_color_only_when_asked() -> None:
    plain = render_trace(CHECKOUT)
    colored = render_trace(CHECKOUT, color=True)
    assert "\x1b[" not in plain
    error_row = next(row for row in colored.splitlines() if "payment.authorize" in row)
    assert "\x1b[31m" in error_row
    assert "\x1b[31m" not in next(row for row in colored.splitlines() if "inventory.reserve" in row)


def test_duplicates_and_parent_cycles_are_still_shown_once() -> None:
    looped = [make("1", "2", "first", "svc", 0, 10), make("2", "1", "second", "svc", 5, 10)]
    text = render_trace([*looped, looped[0]])
    rows = text.splitlines()[2:]
    assert len(rows) == 2
    assert "(parent missing)" in rows[0] and rows[1].index("second") == rows[0].index("first") + 2
    assert render_trace([]) == "(no spans)"
