"""What each instrumented call costs on its own, in one process: the floor under `make bench`'s ratio.

`uv run python -m benchmarks.instrumentation_floor` times, with `time.process_time` over
thousands of calls (best of REPEATS), the three kinds of call a checkout makes many times,
each plain and instrumented as the shop ships it (OTEL_SEMCONV_STABILITY_OPT_IN=http,database,
trace-based exemplars, metrics recorded in memory):

- a FastAPI request (the ASGI/FastAPI instrumentation: server span, duration, size and
  active-requests metrics), through httpx's in-process ASGI transport;
- an httpx client request (client span, duration metric, traceparent injected), against a
  transport that answers at once;
- a SQLAlchemy statement (statement span, pool metrics) on an in-memory SQLite engine.

"spans off" uses the `always_off` sampler: the wrappers and metrics run, no span is recorded.
"spans on" keeps every span and encodes it as OTLP protobuf in a batch processor, as the exporter
would, then drops the bytes (no network). The extra microseconds per call, times the calls a
checkout makes, give a floor for the telemetry's CPU per checkout, to set against the budget that
a 0.90 throughput ratio leaves. A measurement for docs/performance.md, not part of `make bench`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http,database")
os.environ.setdefault("OTEL_METRICS_EXEMPLAR_FILTER", "trace_based")

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
REPEATS = 3
# A checkout's calls (docs/performance.md, "What a checkout emits"): server requests (checkout,
# reserve, authorize, the provider's authorize and invoice, the worker's invoice call does not
# serve), client requests, SQL statements.
PER_CHECKOUT = {"server request": 5, "client request": 4, "SQL statement": 24}


class EncodeAndDrop(SpanExporter):
    """The OTLP exporter's CPU without its network: encode the batch, keep nothing."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        return SpanExportResult.SUCCESS


def providers(spans: bool) -> tuple[TracerProvider, MeterProvider]:
    resource = Resource.create({"service.name": "floor", "service.version": "0"})
    tracer_provider = TracerProvider(resource=resource, sampler=ALWAYS_ON if spans else ALWAYS_OFF)
    tracer_provider.add_span_processor(BatchSpanProcessor(EncodeAndDrop()))
    meter_provider = MeterProvider(resource=resource, metric_readers=[InMemoryMetricReader()])
    return tracer_provider, meter_provider


def cpu_per_call(call: Callable[[], Any], flush: Callable[[], Any] = lambda: None) -> float:
    """Microseconds of CPU (every thread of the process) per call, best of REPEATS."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(CALLS):
            call()
        flush()  # the batch processor's encoding happens on its thread: count it
        best = min(best, time.process_time() - start)
    return best / CALLS * 1e6


def server(setup: str) -> float:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = FastAPI()

    @app.post("/reservations")
    async def reserve(body: dict[str, Any]) -> dict[str, str]:
        """A route with a JSON body and answer, like the shop's."""
        return {"status": "reserved"}

    tracer_provider = None
    if setup != "plain":
        tracer_provider, meter_provider = providers(setup == "spans on")
        FastAPIInstrumentor.instrument_app(  # as wayfinder_common.web does
            app,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            exclude_spans=["send", "receive"],
        )
    loop = asyncio.new_event_loop()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop")
    body = {"order_id": "o-1", "items": [{"sku": "SKU-BOOK", "quantity": 1}]}

    def call() -> None:
        loop.run_until_complete(client.post("/reservations", json=body))

    try:
        return cpu_per_call(call, tracer_provider.force_flush if tracer_provider else lambda: None)
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


def client(setup: str) -> float:
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    answer = httpx.Response(200, json={"status": "authorized"})
    http = httpx.Client(transport=httpx.MockTransport(lambda request: answer), base_url="http://p")
    tracer_provider = None
    if setup != "plain":
        tracer_provider, meter_provider = providers(setup == "spans on")
        HTTPXClientInstrumentor.instrument_client(
            http, tracer_provider=tracer_provider, meter_provider=meter_provider
        )
    try:
        return cpu_per_call(
            lambda: http.post("/v1/authorizations", json={"amount_cents": 1000}),
            tracer_provider.force_flush if tracer_provider else lambda: None,
        )
    finally:
        http.close()


def statement(setup: str) -> float:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    engine = create_engine("sqlite://")
    tracer_provider = None
    instrumentor = SQLAlchemyInstrumentor()
    if setup != "plain":
        tracer_provider, meter_provider = providers(setup == "spans on")
        instrumentor.instrument(
            engine=engine,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            enable_commenter=False,
        )

    # One statement on a connection already checked out (a checkout's transactions run several):
    # the statement's own span and listeners, not the pool's.
    connection = engine.connect()

    def call() -> None:
        connection.execute(text("SELECT 1")).all()

    try:
        return cpu_per_call(call, tracer_provider.force_flush if tracer_provider else lambda: None)
    finally:
        connection.close()
        if setup != "plain":
            instrumentor.uninstrument()
        engine.dispose()


def main(say: Callable[[str], None] = print) -> None:
    kinds = {"server request": server, "client request": client, "SQL statement": statement}
    say(f"instrumentation floor: {CALLS} calls, best of {REPEATS}, microseconds of CPU per call")
    say(f"  {'call':<15} {'plain':>8} {'spans off':>10} {'spans on':>9}  {'x per checkout':>15}")
    totals = {"spans off": 0.0, "spans on": 0.0}
    for name, measure in kinds.items():
        plain, off, on = (measure(setup) for setup in ("plain", "spans off", "spans on"))
        n = PER_CHECKOUT[name]
        totals["spans off"] += (off - plain) * n
        totals["spans on"] += (on - plain) * n
        say(f"  {name:<15} {plain:8.0f} {off:10.0f} {on:9.0f}  {n:>15}")
    say(
        f"  floor per checkout: {totals['spans off'] / 1000:.2f} ms of wrappers and metrics, "
        f"{totals['spans on'] / 1000:.2f} ms with their spans"
    )


if __name__ == "__main__":
    main()
