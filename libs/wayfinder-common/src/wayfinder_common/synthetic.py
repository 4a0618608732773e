"""Synthetic traffic: the W3C baggage entry a load generator sends, surfaced as a bounded span attribute."""

from __future__ import annotations

from opentelemetry import baggage, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor

# The baggage entry loadtest/locustfile.py sends with every request. Baggage travels wherever
# the trace context does (HTTP calls, the outbox row, the Celery message), so every service
# that serves a synthetic request learns it without knowing who sent it.
BAGGAGE_KEY = "synthetic"
BAGGAGE_VALUE = "true"
# The semantic-convention attribute for traffic that says it is synthetic. Only the value
# "test" is ever set, whatever a caller puts in its baggage: the marker stays bounded.
ATTRIBUTE = "user_agent.synthetic.type"
VALUE = "test"


class SyntheticTrafficMarker(SpanProcessor):
    """Marks the spans where synthetic traffic enters a process: server, consumer, relay spans."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if baggage.get_baggage(BAGGAGE_KEY, parent_context) != BAGGAGE_VALUE:
            return
        parent = trace.get_current_span(parent_context).get_span_context()
        # Entry spans only (no parent inside this process): one marker per hop is enough to
        # filter traces, and SQL and client spans do not each repeat it.
        if not parent.is_valid or parent.is_remote:
            span.set_attribute(ATTRIBUTE, VALUE)
