"""`db.client.connections.usage` read from each pool when metrics are collected, not counted on
every checkout.

SQLAlchemy's instrumentation keeps this up-down counter with four pool event listeners: each
checkout and each checkin makes two `add` calls (idle -1, used +1 and back), about 32 per order,
a quarter of the shop's metric-recording CPU in the profile (docs/performance.md). An up-down
counter with cumulative temporality exports its current sum at each collection, and the pool
counts the same thing itself: connections checked out (`used`) and connections waiting in its
queue (`idle`). An observable up-down counter reading the pool at collection exports a series of
the same name, unit, kind and attributes, from this module's scope, at no cost per checkout.

Where the two differ, the pool is the one to believe: the listeners skip every event under
`suppress_instrumentation` (health pings, the relay's polls), so a connection first opened there
took `idle` to -1 at its next checkout. The pool's own figures have edges of their own: a
connection being opened counts as used from the start of its connect (up to connect_timeout),
and after an invalidation (a Postgres restart) its emptied slot waits in the queue as idle until
the next checkout reconnects it.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from opentelemetry import metrics
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer, _get_attributes_from_engine
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from sqlalchemy import Engine, event

_logger = logging.getLogger(__name__)
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
        if not _counts(engine.pool):
            return  # NullPool, StaticPool...: nothing to read, the listeners keep counting
        if _remove_counting_listeners(engine):
            self._engines.add(engine)

    def _observe(self, _options: CallbackOptions) -> list[Observation]:
        observations = []
        for engine in list(self._engines):  # a copy: start-up may add an engine meanwhile
            # Read each time: engine.dispose() puts a new pool in place (connections still out
            # of the old one are no longer counted, as they are no longer the engine's).
            pool: Any = engine.pool
            name = _get_attributes_from_engine(engine)["pool.name"]  # the instrumentation's own
            observations.append(Observation(pool.checkedout(), {"pool.name": name, "state": "used"}))
            observations.append(Observation(pool.checkedin(), {"pool.name": name, "state": "idle"}))
        return observations


_process_wide: PoolUsage | None = None


def observe_pool_usage(engine: Engine) -> None:
    """The shop's engines, read through the global meter provider."""
    global _process_wide
    if _process_wide is None:
        _process_wide = PoolUsage()
    _process_wide.observe(engine)


def _counts(pool: object) -> bool:
    return hasattr(pool, "checkedout") and hasattr(pool, "checkedin")


def _remove_counting_listeners(engine: Engine) -> bool:
    """Take the instrumentation's pool listeners off `engine`; False if they cannot be found."""
    # The instrumentation keeps what it registered in a class-level list (weak target, event,
    # function) so uninstrument() can remove it; take ours out of it as well as off the engine.
    # A release that renames the list leaves the listeners counting, as before, with a warning,
    # rather than the metric reported twice.
    registered = getattr(EngineTracer, "_remove_event_listener_params", None)
    if not isinstance(registered, list):
        _logger.warning("SQLAlchemy instrumentation changed: pool usage stays counted per checkout")
        return False
    for entry in list(registered):
        target, identifier, listener = entry
        if target() is engine and identifier in _POOL_EVENTS:
            event.remove(engine, identifier, listener)
            registered.remove(entry)
    return True
