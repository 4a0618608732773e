"""`wayfinder alerts|metrics|traces`: the navigation commands over the query layer, in either mode."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict
from typing import Any, TextIO

from wayfinder.query.interface import QueryBackend
from wayfinder.query.model import Answer, QueryError, TraceQuery
from wayfinder.query.promql import seconds, window

MIN_DURATION_HELP = (
    "only traces with a span at least this long (500ms, 1s); it is the span that also matches "
    "--service/--span/--attr, so alone it means any span, in practice the root"
)


def register(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="firing and pending alerts, with summary and runbook")
    alerts.add_argument("--json", action="store_true", help="one JSON object instead")
    alerts.set_defaults(handler=cmd_alerts)

    metrics = sub.add_parser(
        "metrics", help="a metric broken down by a label, now and over time (e.g. checkout p95 by region)"
    )
    metrics.add_argument("name", help="OTLP (checkout.request.duration) or Prometheus name")
    metrics.add_argument(
        "--by", default=None, help="label or attribute to break down by (region, http.route...)"
    )
    metrics.add_argument(
        "--where",
        action="append",
        default=[],
        type=_attribute,
        metavar="KEY=VALUE",
        help="only series with this label value (repeatable), e.g. service.name=inventory",
    )
    metrics.add_argument("--quantile", type=float, default=0.95, help="for histograms (default 0.95)")
    metrics.add_argument("--window", type=_window, default="5m", help="rate window (default 5m)")
    metrics.add_argument(
        "--range",
        type=seconds,
        default=900.0,
        dest="range_s",
        metavar="DURATION",
        help="chart range (default 15m)",
    )
    metrics.add_argument(
        "--exemplars", action="store_true", help="also list trace ids behind the slowest observations"
    )
    metrics.add_argument("--limit", type=int, default=10, help="exemplars listed (default 10)")
    metrics.add_argument("--json", action="store_true", help="one JSON object instead")
    metrics.set_defaults(handler=cmd_metrics)

    traces = sub.add_parser("traces", help="search traces (newest first); `wayfinder trace ID` opens one")
    traces.add_argument("--service", default=None, help="a span of this service (service.name)")
    traces.add_argument("--span", default=None, dest="span_name", help="a span with this name")
    traces.add_argument(
        "--min-duration",
        type=seconds,
        default=None,
        dest="min_duration_s",
        metavar="DURATION",
        help=MIN_DURATION_HELP,
    )
    traces.add_argument(
        "--attr",
        action="append",
        default=[],
        type=_attribute,
        metavar="KEY=VALUE",
        help="a span attribute value (repeatable: all on the same span), e.g. region=eu-west",
    )
    traces.add_argument("--errors", action="store_true", help="only traces where any span has status ERROR")
    traces.add_argument("--limit", type=int, default=20)
    traces.set_defaults(handler=cmd_traces)


def _window(text: str) -> str:
    try:
        return window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _attribute(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key.strip(), value.strip()


def _backend() -> QueryBackend:
    from wayfinder.query.select import backend

    return backend()


def _run(args: argparse.Namespace, command: Any) -> int:
    try:
        return int(command(_backend(), args, sys.stdout))
    except QueryError as exc:
        print(f"wayfinder: {exc}", file=sys.stderr)
        return 1


def cmd_alerts(args: argparse.Namespace) -> int:
    from wayfinder.scenarios.drillpath import record_look

    record_look("alerts")
    return _run(args, run_alerts)


def cmd_metrics(args: argparse.Namespace) -> int:
    from wayfinder.scenarios.drillpath import record_look

    record_look("metrics", name=args.name, by=args.by, exemplars=args.exemplars or None)
    return _run(args, run_metrics)


def cmd_traces(args: argparse.Namespace) -> int:
    from wayfinder.scenarios.drillpath import record_look

    attributes = [f"{k}={v}" for k, v in args.attr]
    record_look(
        "traces", service=args.service, span=args.span_name, attr=attributes, errors=args.errors or None
    )
    return _run(args, run_traces)


def _footer(answer: Answer[Any], out: TextIO) -> None:
    # The query is shown so the reader learns the move, not just the output.
    print(f"\nquery: {answer.query}", file=out)
    if answer.link:
        print(f"Grafana: {answer.link}", file=out)


def run_alerts(backend: QueryBackend, args: argparse.Namespace, out: TextIO) -> int:
    from wayfinder.query.render import render_alerts

    answer = backend.alerts()
    if args.json:
        print(json.dumps({"alerts": [asdict(a) for a in answer.value], "link": answer.link}), file=out)
        return 0
    print(render_alerts(answer.value, dashboards=backend.name == "compose", color=out.isatty()), file=out)
    _footer(answer, out)
    return 0


def run_metrics(backend: QueryBackend, args: argparse.Namespace, out: TextIO) -> int:
    from wayfinder.query.render import render_breakdown, render_exemplars

    answer = backend.breakdown(
        args.name, args.by, args.quantile, args.window, args.range_s, tuple(getattr(args, "where", ()))
    )
    exemplars = backend.exemplars(args.name, args.by, args.range_s) if args.exemplars else None
    by = answer.value.by
    if args.json:
        document: dict[str, Any] = {**asdict(answer.value), "query": answer.query, "link": answer.link}
        if exemplars is not None:
            document["exemplars"] = [asdict(e) for e in exemplars.value[: args.limit]]
        print(json.dumps(document), file=out)
        return 0
    range_label = f"{args.range_s / 60:g}m" if args.range_s >= 60 else f"{args.range_s:g}s"
    print(render_breakdown(answer.value, range_label, color=out.isatty()), file=out)
    _footer(answer, out)
    if exemplars is not None:
        print(f"\nExemplars (slowest first) of {exemplars.query}:", file=out)
        print(render_exemplars(exemplars.value, answer.value.metric, by, args.limit, out.isatty()), file=out)
        if exemplars.link:
            print(f"Grafana: {exemplars.link}", file=out)
        if exemplars.value:
            print(f"\nNext: uv run wayfinder trace {exemplars.value[0].trace_id}", file=out)
    return 0


def run_traces(backend: QueryBackend, args: argparse.Namespace, out: TextIO) -> int:
    from wayfinder.navigator.tables import render_summaries

    query = TraceQuery(
        service=args.service,
        span_name=args.span_name,
        min_duration_s=args.min_duration_s,
        attributes=tuple(args.attr),
        errors=args.errors,
        limit=args.limit,
    )
    answer = backend.search_traces(query)
    width = max(80, min(160, shutil.get_terminal_size((100, 20)).columns))
    print(render_summaries(answer.value, width=width, color=out.isatty()), file=out)
    _footer(answer, out)
    if answer.value:
        print(f"Next: uv run wayfinder trace {answer.value[0].trace_id}", file=out)
    return 0
