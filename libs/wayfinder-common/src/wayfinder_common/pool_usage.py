"""`db.client.connections.usage` read from each pool when metrics are collected, not counted on
every checkout.

SQLAlchemy's instrumentation keeps this up-down counter with four pool event listeners: each
checkout and each checkin makes two `add` calls (idle -1, used +1 and back), about 32 per order,
a quarter of the shop's metric-recording CPU in the profile (docs/performance.md). An up-down
counter with cumulative temporality exports its current sum at each collection, and that sum is
what the pool itself counts: connections checked out (`used`) and connections waiting in the
pool (`idle`). An observable up-down counter reading the pool at collection exports the same
series (name, unit, kind, attributes) at no cost per checkout.
"""

from __future__ import annotations

import weakref

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from sqlalchemy import Engine, event

NAME = "db.client.connections.usage"
# The instrumentation's unit and description, kept so the series is the same one.
UNIT = "connections"
DESCRIPTION = "The number of connections that are currently in state described by the state attribute."
_POOL_EVENTS = frozenset({"connect", "close", "checkin", "checkout"})


class PoolUsage:
    """One observable counter for a meter provider, reading every engine handed to observe()."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        self._engines: weakref.WeakSet[Engine] = weakref.WeakSet()
        metrics.get_meter(__name__, meter_provider=meter_provider).create_observable_up_down_counter(
            NAME,
            callbacks=[self._observe],
            unit=UNIT,
            description=DESCRIPTION,
        )

    def observe(self, engine: Engine) -> None:
        """Replace the instrumentation's pool listeners on `engine` with a reading at collection."""
        _remove_counting_listeners(engine)
        self._engines.add(engine)

    def _observe(self, _options: CallbackOptions) -> list[Observation]:
        observations = []
        for engine in list(self._engines):
            pool = engine.pool  # read each time: engine.dispose() puts a new pool in place
            used, idle = getattr(pool, "checkedout", None), getattr(pool, "checkedin", None)
            if used is None or idle is None:
                continue  # a pool that keeps no count (NullPool, StaticPool) has no usage to report
            name = pool.logging_name or _pool_name(engine)
            observations.append(Observation(used(), {"pool.name": name, "state": "used"}))
            observations.append(Observation(idle(), {"pool.name": name, "state": "idle"}))
        return observations


_process_wide: PoolUsage | None = None


def observe_pool_usage(engine: Engine) -> None:
    """The shop's engines, read through the global meter provider."""
    global _process_wide
    if _process_wide is None:
        _process_wide = PoolUsage()
    _process_wide.observe(engine)


def _remove_counting_listeners(engine: Engine) -> None:
    # The instrumentation keeps what it registered in a class-level list (weak target, event,
    # function) so uninstrument() can remove it; take ours out of it as well as off the engine.
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    registered = EngineTracer._remove_event_listener_params
    for entry in list(registered):
        target, identifier, listener = entry
        if target() is engine and identifier in _POOL_EVENTS:
            event.remove(engine, identifier, listener)
            registered.remove(entry)


def _pool_name(engine: Engine) -> str:
    # The instrumentation's own `pool.name` for an unnamed pool: no user, no password.
    url = engine.url
    return f"{url.drivername or ''}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
