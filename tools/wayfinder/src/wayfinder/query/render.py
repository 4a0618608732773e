"""Terminal views of the query layer's answers: alerts, a breakdown with sparklines, exemplars."""

from __future__ import annotations

import time
from collections.abc import Sequence

from wayfinder.navigator.text import DIM, RED, YELLOW, format_ms, paint
from wayfinder.query.model import Alert, Breakdown, ExemplarRef, MetricRef

BARS = "▁▂▃▄▅▆▇█"


def render_alerts(alerts: Sequence[Alert], *, dashboards: bool, color: bool = False) -> str:
    """One block per alert: state, name and labels, then its summary, runbook (and dashboard)."""
    if not alerts:
        return "No alerts firing or pending."
    lines = []
    for alert in alerts:
        state = paint(alert.state.upper().ljust(7), RED if alert.state == "firing" else YELLOW, color)
        labels = " ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
        since = f"  since {alert.active_at[:19].replace('T', ' ')}" if alert.active_at else ""
        lines.append(f"{state} {alert.name}  {labels}{paint(since, DIM, color)}")
        if alert.summary:
            lines.append(f"        {alert.summary}")
        lines.append(f"        runbook: {alert.runbook or '(none)'}")
        if dashboards and alert.dashboard:
            lines.append(f"        dashboard: {alert.dashboard}")
    return "\n".join(lines)


def format_value(metric: MetricRef, value: float | None) -> str:
    if value is None:
        return "-"
    if metric.kind == "histogram" and metric.unit == "seconds":
        return format_ms(value * 1000)
    if metric.kind == "counter":
        return f"{value:.3g}/s"
    return f"{value:.4g}"


def sparkline(values: Sequence[float], low: float, high: float) -> str:
    """One bar per value on a shared scale, so two rows can be compared by eye."""
    if not values:
        return ""
    span = high - low
    return "".join(
        BARS[0 if span <= 0 else min(len(BARS) - 1, int((v - low) / span * (len(BARS) - 1) + 0.5))]
        for v in values
    )


def render_breakdown(breakdown: Breakdown, range_label: str, color: bool = False) -> str:
    metric = breakdown.metric
    heading = f"{metric.base} {breakdown.statistic} over [{breakdown.window}]"
    heading += f" by {breakdown.by}" if breakdown.by else ""
    if not breakdown.series:
        return f"{heading}\n(no data: nothing recorded in the window yet)"
    everything = [v for s in breakdown.series for _, v in s.points]
    low, high = (min(everything), max(everything)) if everything else (0.0, 0.0)
    name_width = max(len(breakdown.by or ""), *(len(s.label_value) for s in breakdown.series), 5)
    lines = [
        heading,
        paint(
            f"{(breakdown.by or '').ljust(name_width)}  {breakdown.statistic:>10}  last {range_label}",
            DIM,
            color,
        ),
    ]
    for index, series in enumerate(breakdown.series):
        chart = sparkline([v for _, v in series.points], low, high)
        row = f"{series.label_value.ljust(name_width)}  {format_value(metric, series.value):>10}  {chart}"
        lines.append(paint(row, RED, color) if index == 0 and len(breakdown.series) > 1 else row)
    lines.append(
        paint(f"chart scale: {format_value(metric, low)} .. {format_value(metric, high)}", DIM, color)
    )
    return "\n".join(lines)


def render_exemplars(
    exemplars: Sequence[ExemplarRef], metric: MetricRef, by: str | None, limit: int, color: bool = False
) -> str:
    if not exemplars:
        return "No exemplars in the range (only sampled requests carry one)."
    lines = [
        paint(
            "trace id                          value       " + (by or "series") + "  time (UTC)", DIM, color
        )
    ]
    for e in exemplars[:limit]:
        where = e.series.get(by, "-") if by else e.series.get("__name__", "-")
        clock = time.strftime("%H:%M:%S", time.gmtime(e.time_s))
        value = format_ms(e.value * 1000) if metric.unit == "seconds" else f"{e.value:.4g}"
        lines.append(f"{e.trace_id}  {value:>10}  {where}  {clock}")
    return "\n".join(lines)
