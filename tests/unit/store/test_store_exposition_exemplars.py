"""The exposition keeps a series' exemplars after newer points without any (the SDK sends each once)."""

from __future__ import annotations

from wayfinder.store import TelemetryStore
from wayfinder.store.exposition import Exposition
from wayfinder.store.model import Exemplar, MetricPoint

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def point(at_s: int, count: int, exemplars: tuple[Exemplar, ...] = ()) -> MetricPoint:
    return MetricPoint(
        name="checkout.request.duration",
        kind="histogram",
        unit="s",
        description="",
        monotonic=None,
        service_name="checkout-api",
        attributes={"region": "eu-west"},
        resource={"service.name": "checkout-api", "service.namespace": "wayfinder"},
        scope_name="checkout_api",
        time_unix_nano=at_s * 1_000_000_000,
        value=None,
        count=count,
        sum=1.8 * count,
        bucket_bounds=(0.5, 2.5),
        bucket_counts=(0, count, 0),
        exemplars=exemplars,
    )


def test_a_slow_requests_exemplar_outlives_the_next_exports(store: TelemetryStore) -> None:
    exposition = Exposition(store, clock=lambda: 1_000.0)
    slow = Exemplar(time_unix_nano=990 * 1_000_000_000, value=1.8, trace_id=TRACE, span_id="00f067aa0ba902b7")
    store.add_metric_points([point(990, 1, (slow,))])
    exposition.refresh()
    store.add_metric_points([point(991, 1), point(992, 1)])  # later exports: no new exemplar
    text = exposition.render()
    bucket = next(line for line in text.splitlines() if 'le="2.5"' in line)
    assert f'trace_id="{TRACE}"' in bucket and bucket.split(" # ")[1].endswith("990.000000000")
