"""The store's GET /metrics: the latest point of every live series, as OpenMetrics for Prometheus.

Metrics are exported cumulatively, so the newest point of a series holds everything Prometheus
needs; each scrape reads only the rows stored since the previous one. A series whose process
stopped exporting (it exited, or restarted with a new service.instance.id) is served for
`stale_after_s` more, then left out so Prometheus marks it stale: the 5 minutes match
Prometheus's lookback, which is how long a series that stops being pushed over OTLP lingers
in instant queries in the compose stack.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from wayfinder.store.db import TelemetryStore
from wayfinder.store.model import MetricPoint
from wayfinder.store.openmetrics import render

DEFAULT_STALE_AFTER_S = 300.0
_SeriesKey = tuple[str, str, str]


def _key(point: MetricPoint) -> _SeriesKey:
    return (
        point.name,
        json.dumps(point.resource, sort_keys=True),
        json.dumps(point.attributes, sort_keys=True),
    )


class Exposition:
    """Tracks the newest point per series from `store` and renders them on demand."""

    def __init__(
        self,
        store: TelemetryStore,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.stale_after_ns = int(stale_after_s * 1e9)
        self.clock = clock
        self._lock = threading.Lock()
        self._latest: dict[_SeriesKey, MetricPoint] = {}
        self._last_row: int | None = None

    def refresh(self) -> None:
        """Take in the points stored since the last call; forget series gone stale."""
        now_ns = int(self.clock() * 1e9)
        horizon = now_ns - self.stale_after_ns
        with self._lock:
            # The first read skips what is already stale: a store file kept from an earlier run
            # must not resurrect the series of processes long gone.
            since = horizon if self._last_row is None else None
            self._last_row, points = self.store.metric_points_after(self._last_row or 0, since)
            for point in points:
                key = _key(point)
                known = self._latest.get(key)
                if known is None or point.time_unix_nano >= known.time_unix_nano:
                    self._latest[key] = point
            for key in [k for k, p in self._latest.items() if p.time_unix_nano < horizon]:
                del self._latest[key]

    def render(self) -> str:
        """The OpenMetrics text of every live series (refreshing first)."""
        self.refresh()
        with self._lock:
            points = list(self._latest.values())
        return render(points)
