"""Histogram bucket boundaries shared by every service, sized for the unit they record.

The SDK's default buckets are sized for milliseconds (0..10000); our durations are seconds,
so without these every sample would land in the first bucket and p95 would be meaningless.
"""

from __future__ import annotations

# Request latencies: 5 ms .. 10 s, dense around the 0.1-2 s range where checkout SLOs live.
LATENCY_BUCKETS_S: list[float] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
]

# Queue lag: from "picked up at once" to "the broker was down for ten minutes".
LAG_BUCKETS_S: list[float] = [
    0.01,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
]
