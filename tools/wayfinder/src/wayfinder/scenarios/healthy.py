"""The shop healthy again after a run: no alert firing, no reservation stuck, every order invoiced."""

from __future__ import annotations

from wayfinder.query.interface import QueryBackend
from wayfinder.query.model import QueryError
from wayfinder.scenarios.verify import Check, labels_text

# A reservation still holding stock for an order that is not confirmed (failed, or never
# written): the stock it took is lost to every later customer.
STUCK_RESERVATIONS = (
    "SELECT count(*) FROM inventory.reservations r WHERE r.status = 'reserved' AND NOT EXISTS "
    "(SELECT 1 FROM checkout.orders o WHERE o.order_id = r.order_id AND o.status = 'confirmed')"
)


def healthy(backend: QueryBackend, database_url: str | None) -> list[Check]:
    return [no_alert_firing(backend), *invoices_delivered(backend), stock_consistent(database_url)]


def no_alert_firing(backend: QueryBackend) -> Check:
    """Nothing firing, and nothing pending either: a pending alert is a rule that still sees the
    fault in its window, and fires once its `for` has passed."""
    try:
        active = backend.alerts().value
    except QueryError as exc:
        return Check("no alert firing", False, f"no answer: {exc}")
    names = ", ".join(f"{a.state} {a.name} ({labels_text(a.labels)})" for a in active)
    return Check("no alert firing", not active, names or "none firing or pending")


def _gauge_total(backend: QueryBackend, name: str, by: str) -> tuple[float | None, str]:
    breakdown = backend.breakdown(name, by, 0.95, "5m", 60.0).value
    current = {s.label_value: s.value for s in breakdown.series if s.value is not None}
    if not current:
        return None, f"{name}: no data"
    shown = ", ".join(f"{k}={v:g}" for k, v in sorted(current.items()))
    return sum(current.values()), f"{name}: {shown}"


def invoices_delivered(backend: QueryBackend) -> list[Check]:
    """invoice.missing (owed, nothing recorded) and invoice.dead_letters (failed, not re-driven) at 0."""
    checks = []
    for element, name, by in (
        ("every order invoiced", "invoice.missing", "order.age"),
        ("no invoice failure left", "invoice.dead_letters", "failure.reason"),
    ):
        try:
            total, shown = _gauge_total(backend, name, by)
        except QueryError as exc:
            checks.append(Check(element, False, f"no answer: {exc}"))
            continue
        checks.append(Check(element, total == 0, shown))
    return checks


def stock_consistent(database_url: str | None) -> Check:
    if database_url is None:
        return Check("no reservation stuck", None, "not checked: the shop's database is not reachable here")
    import sqlalchemy

    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            stuck = int(connection.execute(sqlalchemy.text(STUCK_RESERVATIONS)).scalar_one())
    except sqlalchemy.exc.SQLAlchemyError as exc:
        return Check("no reservation stuck", False, f"database did not answer: {exc.__class__.__name__}")
    finally:
        engine.dispose()
    return Check("no reservation stuck", stuck == 0, f"{stuck} reservations held for no confirmed order")
