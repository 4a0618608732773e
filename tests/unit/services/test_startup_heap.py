"""HTTP services freeze what start-up built, so full collections stop walking it under load."""

from __future__ import annotations

import gc

from wayfinder_common.runner import with_startup_heap_frozen

BUILT: list[object] = []


def build_app() -> dict[str, list[object]]:
    """Stands in for a service's app factory (a real one would set up logging and telemetry)."""
    app = {"routes": [{"path": f"/r{n}"} for n in range(1000)]}
    BUILT.append(app)
    return app


def test_the_factory_builds_the_app_then_freezes_the_heap() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        factory = with_startup_heap_frozen(f"{__name__}:build_app")
        assert BUILT == []  # nothing is built before uvicorn calls the factory
        app = factory()
        assert len(BUILT) == 1 and BUILT[0] is app
        # What start-up built is now out of the collector's sight: the app among it.
        assert gc.get_freeze_count() > 0
        assert not any(obj is app for obj in gc.get_objects())
        assert not any(obj is app["routes"][0] for obj in gc.get_objects())
    finally:
        gc.unfreeze()
        BUILT.clear()
