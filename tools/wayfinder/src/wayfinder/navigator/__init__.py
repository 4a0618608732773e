"""The terminal navigator: a trace as a waterfall, its logs, and a list of recent traces."""

from wayfinder.navigator.waterfall import render_logs, render_trace, render_trace_list

__all__ = ["render_logs", "render_trace", "render_trace_list"]
